"""WD-F3 / WD-F5a: SparseGPT on only the top-p% rows (neurons) of every FFN matrix, per selection; test perplexity.

One job runs a list of selections (wd, mean, variance, magnitude, random<seed>) on one dense model; for `wd`
with `expand`, the same rows are also expanded into K Sparse Expansion experts (WD-F5a). The job's loop:
entangle.sparsify.partial_runs; the rows and their statistics: entangle.sparsify.partial.
"""

import logging
import time

import numpy as np
import torch
from _runner import as_list, run

from entangle.device import resolve_device, resolve_dtype
from entangle.evaluation.contrasts import load_window_nll
from entangle.evaluation.ppl import perplexity
from entangle.io import write_json
from entangle.models.load import load_model
from entangle.sparsify.ffn import module_path, save_sparse_ffn
from entangle.sparsify.partial_runs import (RunSettings, choose_rows, evaluate_dense, plan_runs, run_partial,
                                            selection_statistics, selection_summary)
from entangle.sparsify.sequential import check_settings

log = logging.getLogger("partial_sparsify")


def main(model: dict, calibration: str, windows: str, selections: list, percent: float, sparsities: list,
         headline: str, expand: bool, num_clusters: int, pca_factor: int | None, n_init: int, batch_size: int,
         dtype: str, evaluate: str, eval_split: str, calibration_split: str, max_windows: int | None, dataset: str,
         seed: int, wd_method: str, summary: list, save_to: list, device: str = "cpu",
         dense_nll: str | None = None) -> None:
    """`dense_nll`: the dense model's per-window NLL on the same evaluation windows (the sparsification
    table's dense run), read instead of evaluated; None evaluates it here."""
    device = resolve_device(device)
    dtype = resolve_dtype(dtype, device)
    summary, save_to = as_list(summary), as_list(save_to)
    selections = list(selections)
    if len(summary) != len(selections) or len(save_to) != len(selections):
        raise ValueError(f"{len(selections)} selections but {len(summary)} summary paths and {len(save_to)} save paths")
    torch.manual_seed(seed)
    calib = torch.from_numpy(np.load(calibration).astype(np.int64))
    test = torch.from_numpy(np.load(windows).astype(np.int64))[:max_windows]
    torch_dtype = getattr(torch, dtype)
    layerwise = evaluate == "layerwise"
    settings = RunSettings(num_clusters, pca_factor, n_init, seed, batch_size)
    t_job = time.perf_counter()

    def load():
        return load_model(model["source"], model["revision"], dtype=torch_dtype, device=device)[0]

    net = load()
    for method in ("sparsegpt",) + (("sparse_expansion",) if expand and "wd" in selections else ()):
        check_settings(net, settings.for_run(method, sparsities[0]), calib.numel())  # bad pca_factor or K: fail early
    shapes, outputs, magnitude = selection_statistics(net, calib, selections, batch_size, wd_method, seed)

    if dense_nll is None:
        dense_nll = evaluate_dense(net, calib, test, layerwise, batch_size)
    else:
        dense_nll = torch.from_numpy(load_window_nll(dense_nll))
        if len(dense_nll) != test.shape[0]:
            raise ValueError(f"the dense run evaluated {len(dense_nll)} windows, this job {test.shape[0]}")
    dense_ppl = perplexity(dense_nll)
    log.info("%s dense: PPL %.4f on %d %s windows x %d", model["name"], dense_ppl, test.shape[0], eval_split,
             test.shape[1])
    sel = choose_rows(shapes, outputs, magnitude, selections, percent)

    def save_headline(pruned, run_: tuple) -> None:
        name, method, s = run_
        i = selections.index(name)
        if method == "sparsegpt" and s == headline and save_to[i]:
            save_sparse_ffn(pruned, save_to[i], meta={"model": model["name"], "revision": model["revision"],
                                                      "selection": name, "sparsity": s, "percent": percent,
                                                      "rows": {module_path(pruned, *k): v.tolist()
                                                               for k, v in sel.chosen[name].items()}})

    def write_summary(name: str, runs: list) -> None:
        write_json(summary[selections.index(name)], selection_summary(
            model, name, runs, sel, dense_nll, calib, test, eval_split, calibration_split, dataset, seed, percent,
            wd_method, dtype))

    run_partial(net, calib, test, sel.chosen, plan_runs(selections, sparsities, expand), settings, layerwise, load,
                dense_ppl, on_pruned=save_headline, on_selection=write_summary)
    log.info("job: %.1f s", time.perf_counter() - t_job)


if __name__ == "__main__":
    run(main)
