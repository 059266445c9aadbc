"""Benchmark the per-layer disentanglement analysis (scripts/disentangle_layer.py) on a synthetic layer.

Times each stage of `analyse_layer` at a chosen size: SparseGPT, Sparse Expansion (K experts), per-neuron
RMSE over all held-out tokens, the K sweep, the sparsity sweep, weighted WD/MD and the GMM fits; prints
seconds per stage (stages nest: `_detail` holds the sweeps and the GMM fits) and the peak RSS. Defaults are the mini zoo's GELU layer (64 -> 256, 2,048 calibration and
32,768 held-out tokens); `--paper` uses Pythia-1.4B's widths (2048 -> 8192) with fewer tokens.

    PYTHONPATH=src python benchmarks/bench_disentangle.py [--paper] [--tokens 32768]
"""

import argparse
import resource
import time
from contextlib import contextmanager

import numpy as np
import torch

from entangle.disentangle import analysis
from entangle.disentangle.analysis import AnalysisSettings, analyse_layer
from entangle.disentangle.layer import LayerData

TIMES: dict[str, float] = {}


@contextmanager
def timed(name):
    t0 = time.perf_counter()
    yield
    TIMES[name] = TIMES.get(name, 0.0) + time.perf_counter() - t0


def synthetic_layer(d_in: int, d_out: int, n_cal: int, n_test: int, seed: int = 0) -> LayerData:
    """Inputs from 24 Gaussian clusters in a d_in/4-dim subspace (plus noise); a random weight; dense outputs."""
    g = torch.Generator().manual_seed(seed)
    sub = max(d_in // 4, 2)
    basis = torch.linalg.qr(torch.randn(d_in, sub, generator=g))[0].t()
    centres = 2.0 * torch.randn(24, sub, generator=g)

    def draw(n):
        which = torch.randint(0, 24, (n,), generator=g)
        return (centres[which] + torch.randn(n, sub, generator=g)) @ basis + 0.1 * torch.randn(n, d_in, generator=g)

    w = torch.randn(d_out, d_in, generator=g) / d_in**0.5
    x = draw(n_test)
    return LayerData(w, draw(n_cal).reshape(-1, 64, d_in), x, x @ w.t())


def instrument():
    """Wrap the stages analyse_layer calls so their time is recorded."""
    for name in ("sparsegpt", "sparse_expansion", "rmse", "neuron_outputs", "_cluster_table", "_detail"):
        fn = getattr(analysis, name)

        def wrapped(*args, _fn=fn, _name=name, **kwargs):
            with timed(_name):
                return _fn(*args, **kwargs)

        setattr(analysis, name, wrapped)
    gmm = analysis.measures.gmm_components

    def gmm_timed(*args, **kwargs):
        with timed("gmm_components (inside _detail)"):
            return gmm(*args, **kwargs)

    analysis.measures.gmm_components = gmm_timed


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--paper", action="store_true", help="Pythia-1.4B widths (2048 -> 8192)")
    ap.add_argument("--tokens", type=int, default=None, help="held-out tokens (default 32768; 16384 with --paper)")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    d_in, d_out = (2048, 8192) if args.paper else (64, 256)
    n_test = args.tokens or (16384 if args.paper else 32768)
    data = synthetic_layer(d_in, d_out, 2048, n_test)
    cfg = AnalysisSettings(sparsity=0.9, num_clusters=16, ks=[1, 2, 4, 8, 16], wn_percent=5,
                           sweep=[0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95], md_pairs=2000,
                           gmm_max_components=10, gmm_tokens=4000, pca_factor=32, n_init=10)
    instrument()
    t0 = time.perf_counter()
    analyse_layer(data, cfg, detail=True)
    total = time.perf_counter() - t0
    print(f"layer {d_in} -> {d_out}, {data.calibration_tokens.shape[0]} calibration and {n_test} held-out tokens, "
          f"{args.threads} thread(s)")
    for name, seconds in sorted(TIMES.items(), key=lambda kv: -kv[1]):
        print(f"  {name:<34s} {seconds:8.2f} s")
    print(f"  {'analyse_layer (detail) total':<34s} {total:8.2f} s")
    print(f"  peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
