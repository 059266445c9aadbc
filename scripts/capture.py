"""Capture one MLP matrix's inputs and pre-activation outputs at one model revision and layer."""

import logging

import numpy as np
import torch
from _runner import run

from entangle.capture import capture_matrix
from entangle.device import resolve_device
from entangle.io import save_array
from entangle.models.arch import weight as matrix_weight
from entangle.models.load import load_model


def main(model: dict, windows: str, revision: str, layer: str, matrix: str, max_windows: int | None,
         inputs: str, outputs: str, weight: str, device: str = "cpu") -> None:
    device = resolve_device(device)
    net, _ = load_model(model["source"], revision, device=device)
    w = torch.from_numpy(np.load(windows).astype(np.int64))[:max_windows]
    d_in, d_out = capture_matrix(net, w, int(layer), matrix, inputs, outputs)
    save_array(weight, matrix_weight(net, int(layer), matrix).detach().float().cpu().numpy())  # one row per neuron
    logging.info("%s@%s L%s.%s: %d tokens, d_in=%d, d_out=%d", model["name"], revision, layer, matrix,
                 w.numel(), d_in, d_out)


if __name__ == "__main__":
    run(main)
