"""Capture MLP matrices' inputs and outputs over token windows, streamed to .npy files.

Forward hooks on `blocks.{layer}.mlp.{matrix}` copy each requested matrix's input [B, L, d_in] and output
[B, L, d_out] (pre-activations for `up`/`gate`) into .npy files, row block by row block. Once every requested matrix of a
batch has been seen the forward pass stops, so blocks after the deepest one never run; memory holds one
batch, never a whole layer. One pass serves any number of layers and matrices (`capture_matrices`), so a
model is run once per revision whatever the analyses need.
"""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from entangle.io import atomic_path, load_matrix  # noqa: F401  (load_matrix: re-exported, lives in entangle.io)
from entangle.models.arch import mlp_matrix


class _Captured(Exception):
    """Raised by a hook to end the forward pass once every requested matrix has been seen."""


@torch.no_grad()
def _batches(model: torch.nn.Module, windows: torch.Tensor, targets: list[tuple[int, str]], batch_size: int,
             desc: str):
    """Yield (first window, {(layer, matrix): (inputs [b*L, d_in], outputs [b*L, d_out])}) per batch.

    The forward pass stops as soon as every target has run, so later blocks never do.
    """
    seen: dict[tuple[int, str], tuple[torch.Tensor, torch.Tensor]] = {}

    def hook_for(key):
        def hook(_module, args, output):
            seen[key] = (args[0], output)
            if len(seen) == len(targets):
                raise _Captured
        return hook

    device = next(model.parameters()).device
    handles = [mlp_matrix(model, layer, matrix).register_forward_hook(hook_for((layer, matrix)))
               for layer, matrix in targets]
    try:
        for start in tqdm(range(0, windows.shape[0], batch_size), desc=desc, unit="batch", mininterval=2.0):
            seen.clear()
            try:
                model(input_ids=windows[start : start + batch_size].to(device))
            except _Captured:
                pass
            if len(seen) != len(targets):
                missing = [f"L{layer}.{matrix}" for layer, matrix in targets if (layer, matrix) not in seen]
                raise RuntimeError(f"the forward pass never ran {', '.join(missing)}")
            yield start, {k: (x.reshape(-1, x.shape[-1]), y.reshape(-1, y.shape[-1])) for k, (x, y) in seen.items()}
    finally:
        for handle in handles:
            handle.remove()


def capture_matrices(model: torch.nn.Module, windows: torch.Tensor, targets: dict, batch_size: int = 8,
                     dtype=np.float32) -> dict:
    """One pass over `windows` [n, L] writing every target's arrays; `targets` maps (layer, matrix) to
    {"in": path or None, "out": path or None}: inputs [T, d_in] and outputs [T, d_out], T = n * L, window-major.

    Returns {(layer, matrix): (d_in, d_out)}. Files appear atomically; a failure leaves none of them.
    """
    n, length = windows.shape
    keys = list(targets)
    shapes = {}
    with contextlib.ExitStack() as stack:
        tmp = {(key, end): stack.enter_context(atomic_path(path))
               for key in keys for end, path in targets[key].items() if path is not None}
        arrays = {}
        for start, batch in _batches(model, windows, keys, batch_size, _describe(keys)):
            rows = slice(start * length, start * length + next(iter(batch.values()))[0].shape[0])
            for key, (x, y) in batch.items():
                shapes[key] = (x.shape[1], y.shape[1])
                for end, values in (("in", x), ("out", y)):
                    if (key, end) not in tmp:
                        continue
                    if (key, end) not in arrays:
                        arrays[key, end] = stack.enter_context(
                            NpyRowWriter(tmp[key, end], (n * length, values.shape[1]), dtype))
                    arrays[key, end].write(rows.start, values.float().cpu().numpy())
    return shapes


class NpyRowWriter:
    """An .npy file [rows, cols] filled block of rows by block of rows with plain file writes.

    The same bytes as writing into `np.lib.format.open_memmap`, but nothing is mapped into the process:
    written pages stay in the kernel's page cache, not in the writer's resident memory.
    """

    def __init__(self, path, shape: tuple[int, int], dtype):
        self.dtype = np.dtype(dtype)
        self.shape = shape
        header = np.lib.format.open_memmap(path, mode="w+", dtype=self.dtype, shape=shape)  # header + sized file
        self.offset = header.offset
        del header
        self.file = open(path, "r+b")  # noqa: SIM115  (closed in __exit__)

    def write(self, row: int, values: np.ndarray) -> None:
        """values [r, cols] at rows [row, row + r)."""
        self.file.seek(self.offset + row * self.shape[1] * self.dtype.itemsize)
        self.file.write(np.ascontiguousarray(values, dtype=self.dtype).tobytes())

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.file.close()


def capture_matrix(model: torch.nn.Module, windows: torch.Tensor, layer: int, matrix: str,
                   inputs_path: str | Path, outputs_path: str | Path, batch_size: int = 8,
                   dtype=np.float32) -> tuple[int, int]:
    """Write one matrix's inputs [T, d_in] and outputs [T, d_out] (T = n_windows * L, window-major) to .npy files.

    Returns (d_in, d_out). Files appear atomically; a failure leaves neither.
    """
    shapes = capture_matrices(model, windows, {(layer, matrix): {"in": inputs_path, "out": outputs_path}},
                              batch_size, dtype)
    return shapes[layer, matrix]


def matrix_inputs(model: torch.nn.Module, windows: torch.Tensor, layer: int, matrix: str,
                  batch_size: int = 8) -> torch.Tensor:
    """Inputs of blocks.{layer}.mlp.{matrix} over `windows` [n, L], in memory: fp32 [n, L, d_in] on the model's device."""
    return matrices_inputs(model, windows, [(layer, matrix)], batch_size)[layer, matrix]


def matrices_inputs(model: torch.nn.Module, windows: torch.Tensor, targets: list[tuple[int, str]],
                    batch_size: int = 8) -> dict:
    """`matrix_inputs` of several (layer, matrix) targets in one pass: {(layer, matrix): fp32 [n, L, d_in]}."""
    n, length = windows.shape
    parts = {key: [] for key in targets}
    for _, batch in _batches(model, windows, list(targets), batch_size, _describe(list(targets), "inputs")):
        for key, (x, _) in batch.items():
            parts[key].append(x.float())
    return {key: torch.cat(p).reshape(n, length, -1) for key, p in parts.items()}


def check_free_space(directory: str | Path, need: int, variable: str, what: str) -> None:
    """OSError naming `variable` (the setting that chose `directory`), the bytes `need`ed and free, if they don't fit."""
    free = shutil.disk_usage(directory).free
    if need > free:
        raise OSError(f"{variable} ({directory}) has {free / 2**30:.2f} GiB free, but {what} need {need / 2**30:.2f} "
                      f"GiB; point {variable} at a disk with room (e.g. `export {variable}=/scratch/$USER`) and rerun")


def _describe(keys, what: str = "capture") -> str:
    return f"{what} " + ", ".join(f"L{layer}.{matrix}" for layer, matrix in keys[:4]) + (" ..." if len(keys) > 4 else "")
