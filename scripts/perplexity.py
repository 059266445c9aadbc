"""Per-window NLL and perplexity of a model revision on one split (reference protocol)."""

import numpy as np
import torch
from _runner import run

from entangle.device import resolve_device
from entangle.evaluation.perplexity import write_perplexity
from entangle.models.load import load_model


def main(model: dict, windows: str, revision: str, split: str, max_windows: int | None, seed: int,
         nll: str, summary: str, device: str = "cpu") -> None:
    device = resolve_device(device)
    net, _ = load_model(model["source"], revision, device=device)
    w = torch.from_numpy(np.load(windows).astype(np.int64))[:max_windows]
    write_perplexity(net, w, model, revision, split, seed, nll, summary)


if __name__ == "__main__":
    run(main)
