"""Tokenize one split with the model's tokenizer and cut it into non-overlapping context windows."""

import logging

import numpy as np
from _runner import run

from entangle.data.text import eval_windows, read_split, tokenize
from entangle.io import save_array
from entangle.models.load import load_tokenizer


def main(model: dict, text_dir: str, split: str, windows: str) -> None:
    tok = load_tokenizer(model["source"], model["revision"])
    ids = tokenize(tok, read_split(text_dir, split))
    w = eval_windows(ids, model["context"], what=f"{split} split")
    logging.info("%s/%s: %d tokens -> %d windows of %d", model["name"], split, ids.numel(), *w.shape)
    save_array(windows, w.numpy().astype(np.int32))


if __name__ == "__main__":
    run(main)
