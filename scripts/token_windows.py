"""Tokenize splits with the model's tokenizer and cut each into non-overlapping context windows (one file per split)."""

import logging

import numpy as np
from _runner import as_list, run

from entangle.data.text import eval_windows, read_split, tokenize
from entangle.io import save_array
from entangle.models.load import load_tokenizer


def main(model: dict, text_dir: str, splits: list, windows: list) -> None:
    """`splits` and `windows` pair up: one windows file per split (one tokenizer load for all)."""
    windows = as_list(windows)
    tok = load_tokenizer(model["source"], model["revision"])
    for split, path in zip(splits, windows, strict=True):
        ids = tokenize(tok, read_split(text_dir, split))
        w = eval_windows(ids, model["context"], what=f"{split} split")
        logging.info("%s/%s: %d tokens -> %d windows of %d", model["name"], split, ids.numel(), *w.shape)
        save_array(path, w.numpy().astype(np.int32))


if __name__ == "__main__":
    run(main)
