"""Tokenize splits with the model's tokenizer and cut each into non-overlapping context windows (one file per split)."""

import logging

import numpy as np
from _runner import as_list, run

from entangle.data.windows import split_windows
from entangle.io import save_array
from entangle.models.load import load_tokenizer


def main(model: dict, text_dir: str, splits: list, windows: list) -> None:
    """`splits` and `windows` pair up: one windows file per split (one tokenizer load for all)."""
    tok = load_tokenizer(model["source"], model["revision"])
    for split, path in zip(splits, as_list(windows), strict=True):
        w = split_windows(tok, text_dir, split, model["context"])
        logging.info("%s/%s: %d windows of %d tokens", model["name"], split, *w.shape)
        save_array(path, w.numpy().astype(np.int32))


if __name__ == "__main__":
    run(main)
