"""Benchmark the sequential sparsification driver on randomly initialised models of the mini zoo's sizes.

Times, per family and method, the block-by-block pruning (calibration windows x context tokens) and
the test-perplexity pass, as one `sparsify_prune` job does (without process start-up and model loading).

    PYTHONPATH=src python benchmarks/bench_sparsify_driver.py [--windows 32] [--eval-windows 200] [--n-init 10]
"""

import argparse
import copy
import time

import torch

from entangle.evaluation.perplexity import window_nll
from entangle.models.zoo import build_config, build_model
from entangle.sparsify.sequential import SparsifySettings, sparsify_model

MINI = {"neox-m": ("gpt_neox", 64, 6, 4, 256), "llama": ("llama", 64, 6, 4, 176)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--windows", type=int, default=32)
    ap.add_argument("--eval-windows", type=int, default=200)
    ap.add_argument("--context", type=int, default=128)
    ap.add_argument("--vocab", type=int, default=2048)
    ap.add_argument("--n-init", type=int, default=10)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    g = torch.Generator().manual_seed(0)
    calib = torch.randint(0, args.vocab, (args.windows, args.context), generator=g)
    test = torch.randint(0, args.vocab, (args.eval_windows, args.context), generator=g)
    print(f"{'model':8} {'method':18} {'K':>3} {'prune s':>8} {'eval s':>7}")
    for name, (family, d, layers, heads, d_ff) in MINI.items():
        base = build_model(build_config(family, args.vocab, args.context, d, layers, heads, d_ff, 0), 0).eval()
        for method, k in (("dense", 16), ("magnitude", 16), ("wanda", 16), ("sparsegpt", 16),
                          ("sparse_expansion", 16), ("sparse_expansion", 32)):
            net = copy.deepcopy(base)
            t0 = time.perf_counter()
            sparsify_model(net, calib, SparsifySettings(method, 0.0 if method == "dense" else 0.7, num_clusters=k,
                                                        n_init=args.n_init), progress=False)
            t1 = time.perf_counter()
            window_nll(net, test)
            t2 = time.perf_counter()
            print(f"{name:8} {method:18} {k if method == 'sparse_expansion' else '':>3} {t1 - t0:8.2f} {t2 - t1:7.2f}")


if __name__ == "__main__":
    main()
