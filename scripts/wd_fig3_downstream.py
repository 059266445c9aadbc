"""WD-F3 b-d (paper scale): lm-evaluation-harness scores of the dense model or of one selection's sparse model.

The dense model is loaded; for a selection, its headline-sparsity sparse FFN state (written by
partial_sparsify.py) is loaded on top. Scores: {task: {metric: value}} (entangle.evaluation.downstream).
"""

import logging
import time

import torch
from _runner import run

from entangle.device import resolve_device, resolve_dtype
from entangle.evaluation.downstream import evaluate_downstream
from entangle.io import write_json
from entangle.models.load import load_model
from entangle.sparsify.ffn import load_sparse_ffn


def main(model: dict, selection: str, state_file: str | None, tasks: list, limit: int | None, batch_size: int,
         dtype: str, seed: int, scores: str, device: str = "cpu") -> None:
    device = resolve_device(device)
    dtype = resolve_dtype(dtype, device)
    torch.manual_seed(seed)
    net, tokenizer = load_model(model["source"], model["revision"], dtype=getattr(torch, dtype), device=device)
    if state_file:
        meta = load_sparse_ffn(net, state_file)
        logging.info("%s: loaded %s (selection %s, per-row sparsity %s)", model["name"], state_file,
                     meta.get("selection"), meta.get("sparsity"))
    t0 = time.perf_counter()
    result = evaluate_downstream(net, tokenizer, list(tasks), limit=limit, batch_size=batch_size, seed=seed,
                                 max_length=model.get("context"))
    for task, metrics in result.items():
        logging.info("%s %s: %s", selection, task, ", ".join(f"{k} {v:.4f}" for k, v in metrics.items()))
    logging.info("downstream: %.1f s", time.perf_counter() - t0)
    write_json(scores, result)


if __name__ == "__main__":
    run(main)
