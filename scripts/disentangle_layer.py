"""FFN matrices sparsified in isolation (SparseGPT and Sparse Expansion), measured neuron by neuron on held-out tokens.

Calibration inputs: the dense model's inputs to the matrix on the sparsification calibration windows
(train split), captured here in memory. Held-out inputs and outputs: the capture split's activations.
Writes neurons.csv, clusters.csv, samples.npz and summary.json (see entangle.disentangle.analysis).
"""

import logging

import numpy as np
import pandas as pd
import torch
from _runner import as_list, run

from entangle.capture import matrices_inputs
from entangle.device import resolve_device
from entangle.disentangle.analysis import AnalysisSettings, analyse_layer
from entangle.disentangle.layer import LayerData
from entangle.io import atomic_path, load_matrix, write_json, write_table
from entangle.models.load import load_model


def main(model: dict, checkpoints: str, calibration: str, inputs: list, outputs: list, weight: list, layers: list,
         matrix: str, settings: dict, detail: list, context: dict, neurons: list, clusters: list, samples: list,
         summary: list, device: str = "cpu") -> None:
    """One entry per layer in `layers` (and in every list argument): the layers run in turn on one model load."""
    device = resolve_device(device)
    per_layer = [as_list(v) for v in (inputs, outputs, weight, detail, neurons, clusters, samples, summary)]
    net, _ = load_model(model["source"], model["revision"], device=device)
    windows = torch.from_numpy(np.load(calibration).astype(np.int64))
    layers = [int(layer) for layer in layers]
    calib = matrices_inputs(net, windows, [(layer, matrix) for layer in layers])  # one pass for every layer
    del net
    for layer, *files in zip(layers, *per_layer, strict=True):
        torch.manual_seed(settings["seed"])  # each layer as if it ran alone
        analyse(calib.pop((layer, matrix)), model, layer, matrix, settings, context, device, *files)


def analyse(calib, model: dict, layer: int, matrix: str, settings: dict, context: dict, device: str,
            inputs: str, outputs: str, weight: str, detail: bool, neurons: str, clusters: str, samples: str,
            summary: str) -> None:
    """One matrix: `calib` [n, L, d_in] are its dense inputs on the calibration windows."""
    data = LayerData(weight=torch.from_numpy(np.load(weight)).to(device), calibration=calib,
                     inputs=torch.from_numpy(np.array(load_matrix(inputs), dtype=np.float32)).to(device),
                     outputs=torch.from_numpy(np.array(load_matrix(outputs), dtype=np.float32)).to(device))
    logging.info("%s L%s.%s: %d calibration tokens, %d held-out tokens, %d neurons, detail=%s", model["name"], layer,
                 matrix, data.calibration_tokens.shape[0], data.inputs.shape[0], data.weight.shape[0], detail)
    result = analyse_layer(data, AnalysisSettings(**settings), detail=detail)

    record = {"model": model["name"], "model_id": model.get("hub_id") or model["source"],
              "revision": model["revision"], "layer": layer, "matrix": matrix, **context,
              "tokens": int(data.inputs.shape[0]), "calibration_tokens": int(data.calibration_tokens.shape[0]),
              "seed": settings["seed"]}
    for table, path in ((result.neurons, neurons), (result.clusters, clusters)):
        write_table(pd.concat([pd.DataFrame([record] * len(table)), table.reset_index(drop=True)], axis=1), path)
    with atomic_path(samples) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(fh, **result.samples)
    write_json(summary, {**record, **result.summary, "settings": settings})


if __name__ == "__main__":
    run(main)
