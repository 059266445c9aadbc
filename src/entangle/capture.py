"""Capture one MLP matrix's inputs and outputs over token windows, streamed to .npy files.

A forward hook on `blocks.{layer}.mlp.{matrix}` copies its input [B, L, d_in] and output [B, L, d_out]
(pre-activations for `up`/`gate`) into memory-mapped arrays, then stops the forward pass: blocks after
`layer` never run, and memory holds one batch, never a whole layer, let alone all layers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from entangle.io import atomic_path
from entangle.models.arch import mlp_matrix


class _Captured(Exception):
    """Raised by the hook to end the forward pass once the layer has been seen."""


@torch.no_grad()
def _matrix_batches(model: torch.nn.Module, windows: torch.Tensor, layer: int, matrix: str, batch_size: int,
                    desc: str):
    """Yield (first window, inputs [b*L, d_in], outputs [b*L, d_out]) of blocks.{layer}.mlp.{matrix} per batch.

    The forward pass stops at the matrix, so later blocks never run.
    """
    module = mlp_matrix(model, layer, matrix)
    seen: dict[str, torch.Tensor] = {}

    def hook(_module, args, output):
        seen["x"], seen["y"] = args[0], output
        raise _Captured

    device = next(model.parameters()).device
    handle = module.register_forward_hook(hook)
    try:
        for start in tqdm(range(0, windows.shape[0], batch_size), desc=desc, unit="batch", mininterval=2.0):
            try:
                model(input_ids=windows[start : start + batch_size].to(device))
            except _Captured:
                pass
            yield start, seen["x"].reshape(-1, seen["x"].shape[-1]), seen["y"].reshape(-1, seen["y"].shape[-1])
    finally:
        handle.remove()


def capture_matrix(model: torch.nn.Module, windows: torch.Tensor, layer: int, matrix: str,
                   inputs_path: str | Path, outputs_path: str | Path, batch_size: int = 8,
                   dtype=np.float32) -> tuple[int, int]:
    """Write inputs [T, d_in] and outputs [T, d_out] (T = n_windows * L, window-major) to .npy files.

    Returns (d_in, d_out). Files appear atomically; a failure leaves neither.
    """
    n, length = windows.shape
    with atomic_path(inputs_path) as tmp_in, atomic_path(outputs_path) as tmp_out:
        x_out = y_out = None
        for start, x, y in _matrix_batches(model, windows, layer, matrix, batch_size, f"capture L{layer}.{matrix}"):
            if x_out is None:
                x_out = np.lib.format.open_memmap(tmp_in, mode="w+", dtype=dtype, shape=(n * length, x.shape[1]))
                y_out = np.lib.format.open_memmap(tmp_out, mode="w+", dtype=dtype, shape=(n * length, y.shape[1]))
            rows = slice(start * length, start * length + x.shape[0])
            x_out[rows] = x.float().cpu().numpy()
            y_out[rows] = y.float().cpu().numpy()
        x_out.flush()
        y_out.flush()
        shape = (x_out.shape[1], y_out.shape[1])
        del x_out, y_out
    return shape


def matrix_inputs(model: torch.nn.Module, windows: torch.Tensor, layer: int, matrix: str,
                  batch_size: int = 8) -> torch.Tensor:
    """Inputs of blocks.{layer}.mlp.{matrix} over `windows` [n, L], in memory: fp32 [n, L, d_in] on the model's device."""
    n, length = windows.shape
    parts = [x.float() for _, x, _ in _matrix_batches(model, windows, layer, matrix, batch_size,
                                                      f"inputs L{layer}.{matrix}")]
    return torch.cat(parts).reshape(n, length, -1)


def load_matrix(path: str | Path) -> np.ndarray:
    """A captured array, memory-mapped read-only: [T, d]."""
    return np.load(path, mmap_mode="r")
