"""Mapping difficulty of every neuron of one captured matrix over seeded token pairs (WD Eq. 2)."""

import logging

import numpy as np
import pandas as pd
from _runner import run

from entangle.io import atomic_path, load_matrix, write_table
from entangle.metrics.mapping import mapping_difficulty, pair_input_distances


def main(inputs: str, outputs: str, model: str, revision: str, split: str, layer: str, matrix: str, pairs: str,
         seed: int, md: str, pairs_path: str) -> None:
    x, y = load_matrix(inputs), load_matrix(outputs)
    result = mapping_difficulty(x, y, int(pairs), seed)
    logging.info("%s@%s L%s.%s: %d pairs of %d tokens, N_x=%.4g, %d identical-input pairs, %d dead neurons",
                 model, revision, layer, matrix, len(result.i), len(x), result.n_x, result.n_identical_pairs,
                 result.n_dead_neurons)
    write_table(pd.DataFrame({"model": model, "revision": revision, "split": split, "layer": int(layer),
                              "matrix": matrix, "neuron": np.arange(len(result.md)), "md": result.md,
                              "n_y": result.n_y, "pairs": len(result.i), "tokens": len(x), "seed": seed,
                              "identical_pairs": result.n_identical_pairs}), md)
    with atomic_path(pairs_path) as tmp, open(tmp, "wb") as f:
        np.savez(f, i=result.i, j=result.j, n_x=result.n_x,
                 input_distance=pair_input_distances(x, result.i, result.j))


if __name__ == "__main__":
    run(main)
