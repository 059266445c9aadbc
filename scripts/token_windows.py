"""Tokenize one split with the model's tokenizer and cut it into non-overlapping context windows."""

import logging

import numpy as np
from _runner import run
from transformers import AutoTokenizer

from entangle.data.text import eval_windows, read_split, tokenize
from entangle.io import atomic_path
from entangle.models.load import resolve_local


def main(model: dict, text_dir: str, split: str, windows: str) -> None:
    if model["trained"]:
        tok = AutoTokenizer.from_pretrained(resolve_local(model["source"], model["revision"]))
    else:
        tok = AutoTokenizer.from_pretrained(model["source"], revision=model["revision"])
    ids = tokenize(tok, read_split(text_dir, split))
    w = eval_windows(ids, model["context"], what=f"{split} split")
    logging.info("%s/%s: %d tokens -> %d windows of %d", model["name"], split, ids.numel(), *w.shape)
    with atomic_path(windows) as tmp:
        with open(tmp, "wb") as f:
            np.save(f, w.numpy().astype(np.int32))


if __name__ == "__main__":
    run(main)
