"""Example windows for feature clusters: one token window per example (NE §4.1.1).

- From the scale's own token windows (smoke, mini): the first n windows, each truncated to
  `example_tokens` tokens.
- From a Hugging Face text dataset (paper: OpenWebText): documents in dataset order, each tokenized
  with the model's tokenizer and truncated to its first `example_tokens` tokens, one window per
  document; documents shorter than that are skipped (stated in the outputs), so every window has the
  same length and the activations of all examples come from one batched forward pass.
"""

from __future__ import annotations

import numpy as np

from entangle.data.text import DataError, open_hf_dataset


def windows_from_split(windows, n, example_tokens):
    """windows: int array [N, context] -> int32 [min(n, N), example_tokens]."""
    windows = np.asarray(windows)
    if example_tokens > windows.shape[1]:
        raise DataError(f"neuron_embeddings.example_tokens = {example_tokens} is longer than the token "
                        f"windows ({windows.shape[1]} tokens); lower it or raise the scale's context")
    return windows[:n, :example_tokens].astype(np.int32)


def windows_from_documents(texts, tokenizer, n, example_tokens):
    """First `example_tokens` tokens of each document with at least that many, until n windows.

    texts: an iterable of strings (dataset order). Returns (int32 [<=n, example_tokens], n_documents_read,
    n_documents_skipped).
    """
    rows, read, skipped = [], 0, 0
    for text in texts:
        if len(rows) >= n:
            break
        read += 1
        ids = tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"][:example_tokens]
        if len(ids) < example_tokens:
            skipped += 1
            continue
        rows.append(ids)
    if not rows:
        raise DataError(f"no document has {example_tokens} tokens; lower neuron_embeddings.example_tokens")
    return np.asarray(rows, dtype=np.int32), read, skipped


def windows_from_hf(tokenizer, dataset, split, n, example_tokens, local_path=None, revision=None, field="text"):
    """Example windows from a Hugging Face text dataset (streamed, or a save_to_disk copy)."""
    data = open_hf_dataset(dataset, split=split, revision=revision, local_path=local_path, streaming=True,
                           setting="neuron_embeddings.text.local_path")
    try:
        return windows_from_documents((row[field] for row in data), tokenizer, n, example_tokens)
    except DataError:
        raise
    except Exception as exc:  # a stream can fail mid-way (network)
        raise DataError(f"reading {dataset!r} (split {split!r}) failed: {type(exc).__name__}: {exc}; "
                        "see neuron_embeddings.text.local_path to use a local copy") from exc
