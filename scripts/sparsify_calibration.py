"""Calibration windows for sparsification: `windows` random windows of the model's context from one split.

As the SparseGPT / Wanda / Sparse Expansion loaders (`get_loaders`): the whole split is
tokenized as one stream, `random.seed(seed)`, each start `randint(0, T - context - 1)`.
"""

import logging

import numpy as np
from _runner import run

from entangle.data.windows import split_calibration
from entangle.io import save_array
from entangle.models.load import load_tokenizer


def main(model: dict, text_dir: str, split: str, n_windows: int, seed: int, calibration: str) -> None:
    tok = load_tokenizer(model["source"], model["revision"])
    w = split_calibration(tok, text_dir, split, n_windows, model["context"], seed)
    logging.info("%s: %d calibration windows of %d tokens from %s (seed %d)", model["name"], *w.shape, split, seed)
    save_array(calibration, w.numpy().astype(np.int32))


if __name__ == "__main__":
    run(main)
