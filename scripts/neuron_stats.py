"""Per-neuron statistics of one captured matrix: WD to N(0,1), output moments, share negative, mean |w|."""

import logging

import numpy as np
import pandas as pd
from _runner import run

from entangle.capture import load_matrix
from entangle.io import write_table
from entangle.metrics.wasserstein import wasserstein_to_gaussian


def main(outputs: str, weight: str, model: str, revision: str, split: str, layer: str, matrix: str, method: str,
         seed: int, stats: str) -> None:
    y = load_matrix(outputs)
    wd = wasserstein_to_gaussian(y, method=method, seed=seed)
    w = np.load(weight)
    y64 = np.asarray(y, dtype=np.float64)
    table = pd.DataFrame({
        "neuron": np.arange(y.shape[1]), "wd": wd, "wd_method": method,
        "mean": y64.mean(0), "std": y64.std(0), "frac_negative": (y64 < 0).mean(0),
        "mean_abs_weight": np.abs(w).mean(1), "row_norm": np.linalg.norm(w, axis=1),
    })
    table.insert(0, "model", model)
    table.insert(1, "revision", revision)
    table.insert(2, "split", split)
    table.insert(3, "layer", int(layer))
    table.insert(4, "matrix", matrix)
    table["tokens"] = y.shape[0]
    table["seed"] = seed
    logging.info("%s@%s L%s.%s: %d tokens, %d neurons, %d dead, WD median %.4f max %.4f", model, revision,
                 layer, matrix, y.shape[0], y.shape[1], int(np.isnan(wd).sum()), np.nanmedian(wd), np.nanmax(wd))
    write_table(table, stats)


if __name__ == "__main__":
    run(main)
