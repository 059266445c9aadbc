"""Time the NC App. A z-score pipeline per layer on synthetic data of mini and paper sizes.

Per layer (the unit of one `mapping_difficulty` + one `nc_layer_top_pairs` job): MD of every neuron over
P = 1,000 seeded pairs, then the top-10 MD neurons' OI ratios over all pairs and their top-10 pairs.
Then the cross-layer step (`nc_fig2_analysis`): z-scores of every layer's 100 pairs under every other
layer's top neurons. Synthetic activations, not a trained model: timings, not science.

Sizes: mini = 256 windows x 128 tokens (32,768 tokens), d = 64, 256 neurons, 6 layers; paper = d = 2,048,
8,192 neurons, 24 layers, with fewer tokens than Pythia-1.4B's 286,720 (default 20,000; --paper-tokens)
because only the 2P rows of the pairs are read, so the token count barely matters once the capture is on
disk (memory-mapped). Run: python benchmarks/bench_zscores.py [--paper-tokens N] [--skip-paper]
"""

import argparse
import time

import numpy as np

from entangle.metrics.mapping import mapping_difficulty
from entangle.pairs.zscores import cross_layer_z, layer_top_pairs

SIZES = {"mini": dict(tokens=32_768, d=64, n=256, layers=6), "paper": dict(tokens=20_000, d=2_048, n=8_192, layers=24)}


def synthetic_layer(tokens, d, n, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((tokens, d), dtype=np.float32)
    w = rng.standard_normal((d, n), dtype=np.float32) / np.sqrt(d)
    y = x @ w
    y[:, : n // 50] = np.abs(y[:, : n // 50]) * 3 - 2  # some folded (entangled) neurons
    return x, y


def bench(name, tokens, d, n, layers, pairs=1_000, timed_layers=2):
    x, y = synthetic_layer(tokens, d, n, seed=0)
    times_md, times_top, lps = [], [], []
    for layer in range(timed_layers):
        t0 = time.perf_counter()
        res = mapping_difficulty(x, y, pairs, seed=0)
        t1 = time.perf_counter()
        lp = layer_top_pairs(x, y, res.md, res.i, res.j, layer, top_neurons=10, top_pairs=10)
        t2 = time.perf_counter()
        times_md.append(t1 - t0)
        times_top.append(t2 - t1)
        lps.append(lp)
    lps = [lps[k % len(lps)] for k in range(layers - 1)]  # layer 0 excluded
    t0 = time.perf_counter()
    z = cross_layer_z(lps)
    t_cross = time.perf_counter() - t0
    print(f"{name:6s} T={tokens:,} d={d:,} n={n:,} P={pairs:,}: per layer MD {np.median(times_md):.3f} s + "
          f"top pairs {np.median(times_top):.3f} s; cross-layer z {z.shape} for {layers - 1} layers {t_cross * 1e3:.1f} ms")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paper-tokens", type=int, default=SIZES["paper"]["tokens"])
    parser.add_argument("--skip-paper", action="store_true")
    args = parser.parse_args()
    bench("mini", **SIZES["mini"])
    if not args.skip_paper:
        bench("paper", **{**SIZES["paper"], "tokens": args.paper_tokens})


if __name__ == "__main__":
    main()
