"""Per-window NLL and perplexity of a model revision on one split (reference protocol)."""

import numpy as np
import pandas as pd
import torch
from _runner import run

from entangle.device import resolve_device
from entangle.evaluation.perplexity import perplexity, window_nll
from entangle.io import write_json, write_table
from entangle.models.load import load_model


def main(model: dict, windows: str, revision: str, split: str, max_windows: int | None, seed: int,
         nll: str, summary: str, device: str = "cpu") -> None:
    device = resolve_device(device)
    net, _ = load_model(model["source"], revision, device=device)
    w = torch.from_numpy(np.load(windows).astype(np.int64))[:max_windows]
    per_window = window_nll(net, w)
    table = pd.DataFrame({"window": range(len(per_window)), "nll": per_window.numpy(),
                          "tokens": w.shape[1] - 1})
    write_table(table, nll)
    write_json(summary, {"model": model["name"], "model_id": model.get("hub_id") or model["source"],
                         "revision": revision, "split": split, "windows": int(w.shape[0]),
                         "window_tokens": int(w.shape[1]), "tokens": int(w.numel()), "seed": seed,
                         "mean_nll": float(per_window.mean()), "perplexity": perplexity(per_window)})


if __name__ == "__main__":
    run(main)
