"""Every requested capture of one model in one job (`capture.jobs: per_model`): per revision one model load and
one forward pass over the capture windows hooking every requested layer and matrix, then each matrix's
per-neuron statistics from its outputs. Writes the same files as the per-layer `capture` and `neuron_stats`
jobs (entangle.workflow.captures); outputs needed only for statistics are not kept.
"""

import logging
import tempfile
from itertools import groupby
from pathlib import Path

import numpy as np
import torch
from _runner import as_list, run

from entangle.capture import capture_matrices
from entangle.io import load_matrix, save_array, write_table
from entangle.models.arch import weight as matrix_weight
from entangle.models.load import load_model
from entangle.neurons.stats import describe, neuron_table


def main(model: dict, windows: list, splits: list, units: list, max_windows: int | None, method: str, seed: int,
         device: str = "cpu") -> None:
    windows = as_list(windows)
    tokens = {split: torch.from_numpy(np.load(path).astype(np.int64))[:max_windows]
              for split, path in zip(splits, windows, strict=True)}
    for (revision, split), group in groupby(units, key=lambda u: (u["revision"], u["split"])):
        group = list(group)
        net, _ = load_model(model["source"], revision, device=device)
        w = tokens[split]
        with tempfile.TemporaryDirectory(prefix="entangle-capture-") as scratch:
            targets, outputs = {}, {}
            for u in group:
                files, key = u["files"], (u["layer"], u["matrix"])
                out = files.get("out") or (f"{scratch}/L{u['layer']}.{u['matrix']}.out.npy" if "stats" in files else None)
                if files.get("in") or out:
                    targets[key] = {"in": files.get("in"), "out": out}
                    outputs[key] = out
            shapes = capture_matrices(net, w, targets) if targets else {}
            for u in group:
                files, key = u["files"], (u["layer"], u["matrix"])
                weight = matrix_weight(net, u["layer"], u["matrix"]).detach().float().cpu().numpy()  # one row per neuron
                if "weight" in files:
                    save_array(files["weight"], weight)
                if "stats" in files:
                    table = neuron_table(load_matrix(outputs[key]), weight, model=model["name"], revision=revision,
                                         split=split, layer=u["layer"], matrix=u["matrix"], method=method, seed=seed)
                    logging.info("%s", describe(table))
                    write_table(table, files["stats"])
                if key in shapes:
                    logging.info("%s@%s L%s.%s: %d tokens, d_in=%d, d_out=%d; wrote %s", model["name"], revision,
                                 u["layer"], u["matrix"], w.numel(), *shapes[key],
                                 ", ".join(Path(p).name for p in files.values()))
        del net


if __name__ == "__main__":
    run(main)
