"""Per-neuron statistics of one captured matrix: WD to N(0,1), output moments, share negative, mean |w|."""

import logging

import numpy as np
from _runner import run

from entangle.io import load_matrix, write_table
from entangle.neurons.stats import describe, neuron_table


def main(outputs: str, weight: str, model: str, revision: str, split: str, layer: str, matrix: str, method: str,
         seed: int, stats: str) -> None:
    table = neuron_table(load_matrix(outputs), np.load(weight), model=model, revision=revision, split=split,
                         layer=int(layer), matrix=matrix, method=method, seed=seed)
    logging.info("%s", describe(table))
    write_table(table, stats)


if __name__ == "__main__":
    run(main)
