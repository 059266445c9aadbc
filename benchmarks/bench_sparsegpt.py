"""Benchmark SparseGPT at 50% on one layer: time of add_batch (Hessian) and prune, on the current device.

Default: the 2048 -> 8192 up-projection (weight [8192, 2048]) and its transpose (weight [2048, 8192]),
with 128 x 512 random calibration tokens fed 8 sequences per add_batch call.

    PYTHONPATH=src python benchmarks/bench_sparsegpt.py [--shapes 8192x2048 2048x8192] [--n-seq 128]
"""

import argparse
import time

import torch

from entangle.sparsify import SparseGPT


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def bench(d_out: int, d_in: int, n_seq: int, seq_len: int, batch: int, device: torch.device) -> None:
    g = torch.Generator(device=device).manual_seed(0)
    weight = torch.randn(d_out, d_in, generator=g, device=device)
    scales = torch.exp(0.5 * torch.randn(d_in, generator=g, device=device))
    gpt = SparseGPT(weight)
    t_add = 0.0
    for _ in range(0, n_seq, batch):
        x = torch.randn(batch, seq_len, d_in, generator=g, device=device) * scales
        sync(device)
        t = time.perf_counter()
        gpt.add_batch(x)
        sync(device)
        t_add += time.perf_counter() - t
    t = time.perf_counter()
    pruned = gpt.prune(0.5)
    sync(device)
    t_prune = time.perf_counter() - t
    print(f"weight [{d_out}, {d_in}] (d_out x d_in), {n_seq} x {seq_len} tokens: "
          f"add_batch {t_add:.1f} s total, prune {t_prune:.1f} s, sparsity {(pruned == 0).float().mean():.4f}")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--shapes", nargs="+", default=["8192x2048", "2048x8192"], help="d_out x d_in")
    p.add_argument("--n-seq", type=int, default=128)
    p.add_argument("--seq-len", type=int, default=512)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = p.parse_args()
    device = torch.device(args.device)
    print(f"torch {torch.__version__}, device {device}, threads {torch.get_num_threads()}")
    for shape in args.shapes:
        d_out, d_in = (int(v) for v in shape.split("x"))
        bench(d_out, d_in, args.n_seq, args.seq_len, args.batch, device)


if __name__ == "__main__":
    main()
