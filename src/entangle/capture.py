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
def capture_matrix(model: torch.nn.Module, windows: torch.Tensor, layer: int, matrix: str,
                   inputs_path: str | Path, outputs_path: str | Path, batch_size: int = 8,
                   dtype=np.float32) -> tuple[int, int]:
    """Write inputs [T, d_in] and outputs [T, d_out] (T = n_windows * L, window-major) to .npy files.

    Returns (d_in, d_out). Files appear atomically; a failure leaves neither.
    """
    module = mlp_matrix(model, layer, matrix)
    seen: dict[str, torch.Tensor] = {}

    def hook(_module, args, output):
        seen["x"], seen["y"] = args[0], output
        raise _Captured

    device = next(model.parameters()).device
    n, length = windows.shape
    handle = module.register_forward_hook(hook)
    try:
        with atomic_path(inputs_path) as tmp_in, atomic_path(outputs_path) as tmp_out:
            x_out = y_out = None
            for start in tqdm(range(0, n, batch_size), desc=f"capture L{layer}.{matrix}", unit="batch", mininterval=2.0):
                batch = windows[start : start + batch_size].to(device)
                try:
                    model(input_ids=batch)
                except _Captured:
                    pass
                x = seen["x"].reshape(-1, seen["x"].shape[-1])
                y = seen["y"].reshape(-1, seen["y"].shape[-1])
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
    finally:
        handle.remove()
    return shape


def load_matrix(path: str | Path) -> np.ndarray:
    """A captured array, memory-mapped read-only: [T, d]."""
    return np.load(path, mmap_mode="r")
