"""Per-neuron statistics of one captured matrix (the `stats/.../L{layer}.{matrix}.csv` tables).

One row per neuron (a row of the weight [d_out, d_in], a column of the outputs [T, d_out]): WD to N(0,1)
(entangle.metrics.wasserstein, in standard deviations), output mean and std (ddof=0), share of negative
outputs, mean |w| and the row's L2 norm; every row records model, revision, split, layer, matrix, token
count and seed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from entangle.metrics.wasserstein import wasserstein_to_gaussian


def neuron_table(outputs, weight, *, model: str, revision: str, split: str, layer: int, matrix: str, method: str,
                 seed: int) -> pd.DataFrame:
    """outputs [T, d_out] (numpy, e.g. memory-mapped), weight [d_out, d_in] -> one row per neuron."""
    wd = wasserstein_to_gaussian(outputs, method=method, seed=seed)
    w = np.asarray(weight)
    y64 = np.asarray(outputs, dtype=np.float64)
    table = pd.DataFrame({
        "neuron": np.arange(outputs.shape[1]), "wd": wd, "wd_method": method,
        "mean": y64.mean(0), "std": y64.std(0), "frac_negative": (y64 < 0).mean(0),
        "mean_abs_weight": np.abs(w).mean(1), "row_norm": np.linalg.norm(w, axis=1),
    })
    table.insert(0, "model", model)
    table.insert(1, "revision", revision)
    table.insert(2, "split", split)
    table.insert(3, "layer", int(layer))
    table.insert(4, "matrix", matrix)
    table["tokens"] = outputs.shape[0]
    table["seed"] = seed
    return table


def describe(table: pd.DataFrame) -> str:
    """One log line: tokens, neurons, dead neurons, WD median and max."""
    wd = table["wd"].to_numpy()
    first = table.iloc[0]
    return (f"{first['model']}@{first['revision']} L{first['layer']}.{first['matrix']}: {first['tokens']} tokens, "
            f"{len(table)} neurons, {int(np.isnan(wd).sum())} dead, WD median {np.nanmedian(wd):.4f} "
            f"max {np.nanmax(wd):.4f}")
