"""Sparsify one model's feed-forward linears with one method and sparsity, then measure test perplexity.

One job may run several settings (`jobs.sparsify: per_method` or `per_model` at small scales, where process start-up
costs more than the pruning): the dense model is reloaded for each, so every run starts from it.

Block by block (entangle.sparsify.sequential): calibration statistics from the dense block, prune, propagate
the pruned block's outputs. `evaluate: model` runs the perplexity code on the sparsified model;
`layerwise` propagates the test windows block by block as the references do (for models whose
Sparse Expansion does not fit in memory).
"""

import logging
import time

import numpy as np
import pandas as pd
import torch
from _runner import as_list, run

from entangle.device import resolve_device, resolve_dtype
from entangle.evaluation.perplexity import window_nll
from entangle.evaluation.ppl import perplexity
from entangle.io import write_json, write_table
from entangle.models.load import load_model
from entangle.sparsify.sequential import (
    SparsifySettings,
    check_settings,
    ffn_macs_per_token,
    save_sparse_ffn,
    sparsify_model,
)


def main(model: dict, calibration: str, windows: str, settings: list, eval_split: str, max_windows: int | None,
         evaluate: str, dtype: str, dataset: str, seed: int, summary: list, nll: list, save_to: list,
         device: str = "cpu") -> None:
    device = resolve_device(device)
    dtype = resolve_dtype(dtype, device)
    calib = torch.from_numpy(np.load(calibration).astype(np.int64))
    test = torch.from_numpy(np.load(windows).astype(np.int64))[:max_windows]
    summary, nll, save_to = as_list(summary), as_list(nll), as_list(save_to)
    for one, summary_path, nll_path, save_path in zip(settings, summary, nll, save_to, strict=True):
        prune_and_evaluate(model, calib, test, SparsifySettings(**one), eval_split, evaluate, dtype, dataset, seed,
                           summary_path, nll_path, save_path, device)


def prune_and_evaluate(model: dict, calib: torch.Tensor, test: torch.Tensor, s: SparsifySettings, eval_split: str,
                       evaluate: str, dtype: str, dataset: str, seed: int, summary: str, nll: str,
                       save_to: str | None, device: str) -> None:
    """Load the dense model, sparsify it with `s`, evaluate it, and write the summary JSON and per-window NLL."""
    torch.manual_seed(seed)
    net, _ = load_model(model["source"], model["revision"], dtype=getattr(torch, dtype), device=device)
    check_settings(net, s, calib.numel())  # bad N:M widths, pca_factor or K: fail before any work
    dense_ffn = sum(p.numel() for n, p in net.named_parameters() if _is_ffn(net, n))
    logging.info("%s: %s %s, %d calibration windows x %d, %d %s windows x %d, evaluate=%s", model["name"], s.method,
                 s.sparsity, *calib.shape, test.shape[0], eval_split, test.shape[1], evaluate)
    layerwise = evaluate == "layerwise"
    result = sparsify_model(net, calib, s, eval_windows=test if layerwise else None,
                            release=layerwise and not save_to)
    t0 = time.perf_counter()
    per_window = result.eval_nll if layerwise else window_nll(net, test)
    eval_seconds = time.perf_counter() - t0
    if save_to:
        save_sparse_ffn(net, save_to, meta={"model": model["name"], "revision": model["revision"],
                                            "settings": result.settings})
    write_table(pd.DataFrame({"window": range(len(per_window)), "nll": per_window.numpy(),
                              "tokens": test.shape[1] - 1}), nll)
    k = s.num_clusters if s.method == "sparse_expansion" else None
    write_json(summary, {
        "model": model["name"], "model_id": model.get("hub_id") or model["source"], "revision": model["revision"],
        "family": model["family"], "method": s.method, "sparsity": str(s.sparsity), "k": k,
        "dataset": dataset, "split": eval_split, "windows": int(test.shape[0]), "window_tokens": int(test.shape[1]),
        "tokens": int(test.numel()), "calibration_windows": result.calibration_windows,
        "calibration_tokens": result.calibration_tokens, "seed": seed,
        "mean_nll": float(per_window.mean()), "perplexity": perplexity(per_window),
        "ffn_sparsity": result.ffn_sparsity, "ffn_params": int(dense_ffn),
        "ffn_nonzeros_per_token": ffn_macs_per_token(result) if result.linears else float(dense_ffn),
        "router_macs_per_token": result.router_macs, "evaluate": evaluate, "dtype": dtype, "device": device,
        "settings": result.settings, "seconds_sparsify": result.seconds, "seconds_eval": eval_seconds,
        "linears": result.linears,
    })



def _is_ffn(net, name: str) -> bool:
    from entangle.models.arch import arch_of

    arch = arch_of(net)
    return name.startswith(arch.blocks + ".") and any(f".{path}." in name for path in arch.matrices.values()) \
        and name.endswith("weight")


if __name__ == "__main__":
    run(main)
