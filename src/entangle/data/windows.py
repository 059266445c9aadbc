"""Token windows cut from text splits: the evaluation and activation windows, and the calibration windows.

Both follow the references' loaders (SparseGPT, Wanda, Sparse Expansion): a split tokenized as one stream, cut
into non-overlapping windows for evaluation and capture, or drawn at seeded random starts for calibration.
"""

from __future__ import annotations

import random
from pathlib import Path

import torch

from entangle.data.text import DataError, read_split


def tokenize(tokenizer, text: str) -> torch.Tensor:
    """Token ids of a whole split as one stream: LongTensor [T]."""
    ids = tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"]
    return torch.tensor(ids, dtype=torch.long)


def eval_windows(ids: torch.Tensor, length: int, max_windows: int | None = None, what: str = "split") -> torch.Tensor:
    """Non-overlapping windows of `length` tokens, leftover dropped: LongTensor [n, length].

    This is the reference perplexity and activation protocol (WikiText-2 windows of the SparseGPT,
    Wanda and Sparse Expansion evaluations, and of the WD/NC activation collection).
    """
    n = ids.numel() // length
    if n < 1:
        raise DataError(f"{what} has {ids.numel()} tokens, fewer than one window of {length}; "
                        "give it more text or use a shorter context")
    if max_windows is not None:
        n = min(n, max_windows)
    return ids[: n * length].view(n, length)


def calibration_windows(ids: torch.Tensor, n: int, length: int, seed: int) -> torch.Tensor:
    """`n` random windows of `length` tokens, as the SparseGPT/Sparse Expansion loaders draw them.

    `random.seed(seed)`, then each start is `randint(0, T - length - 1)`: LongTensor [n, length].
    """
    if ids.numel() <= length + 1:
        raise DataError(f"calibration split has {ids.numel()} tokens, too few for windows of {length}")
    rng = random.Random(seed)
    starts = [rng.randint(0, ids.numel() - length - 1) for _ in range(n)]
    return torch.stack([ids[s : s + length] for s in starts])


def split_windows(tokenizer, directory: str | Path, split: str, length: int) -> torch.Tensor:
    """A split tokenized as one stream and cut into non-overlapping windows (`eval_windows`): LongTensor [n, length]."""
    return eval_windows(tokenize(tokenizer, read_split(directory, split)), length, what=f"{split} split")


def split_calibration(tokenizer, directory: str | Path, split: str, n: int, length: int, seed: int) -> torch.Tensor:
    """`calibration_windows` of a split tokenized as one stream: LongTensor [n, length]."""
    return calibration_windows(tokenize(tokenizer, read_split(directory, split)), n, length, seed)
