"""One layer of NC App. A: its top-MD neurons, their OI ratios over all pairs, and each one's top-OI pairs."""

import logging

import numpy as np
import pandas as pd
from _runner import run

from entangle.io import atomic_path, load_matrix
from entangle.pairs.zscores import layer_top_pairs


def main(inputs: str, outputs: str, md: str, pairs_path: str, layer: str, top_neurons: int, top_pairs: int,
         top: str) -> None:
    x, y = load_matrix(inputs), load_matrix(outputs)
    p = np.load(pairs_path)
    result = layer_top_pairs(x, y, pd.read_csv(md)["md"].to_numpy(), p["i"], p["j"], int(layer),
                             top_neurons=top_neurons, top_pairs=top_pairs)
    logging.info("L%s: top-MD neurons %s (MD %s); %d distinct pairs among the %d top pairs", layer,
                 result.neurons.tolist(), np.round(result.md, 3).tolist(), len(np.unique(result.pool)),
                 result.pool.size)
    with atomic_path(top) as tmp, open(tmp, "wb") as f:
        np.savez(f, i=p["i"], j=p["j"], input_distance=p["input_distance"], n_x=p["n_x"], tokens=len(x),
                 **result.arrays())


if __name__ == "__main__":
    run(main)
