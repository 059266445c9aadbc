"""WD-F3 / WD-F5a: SparseGPT on only the top-p% rows (neurons) of every FFN matrix, per selection; test perplexity.

One job runs a list of selections (wd, mean, variance, magnitude, random<seed>). The dense model is loaded
once: its per-row output statistics on the calibration windows (only if a selection needs them), its
test perplexity, then for each selection and per-row sparsity: row-wise SparseGPT block by block
(entangle.sparsify.sequential, rows=...), perplexity on the evaluation windows, dense weights restored
(or, after a layer-wise run that released its blocks, the model reloaded). For `wd` with `expand`, the
same rows are also expanded into K Sparse Expansion experts (WD-F5a). Definitions: entangle.sparsify.partial.
"""

import logging
import time

import numpy as np
import torch
from _runner import as_list, run
from tqdm.auto import tqdm

from entangle.device import resolve_device, resolve_dtype
from entangle.evaluation.contrasts import load_window_nll
from entangle.evaluation.perplexity import perplexity, window_nll
from entangle.io import write_json
from entangle.models.arch import arch_of, blocks, module_weight
from entangle.models.load import load_model
from entangle.sparsify.ffn import module_path, replace_module, save_sparse_ffn
from entangle.sparsify.partial import (
    OUTPUT_STATISTICS,
    WD_TOKENS,
    describe_rows,
    ffn_shapes,
    mean_jaccard,
    output_statistics,
    parse_selection,
    row_sparsity,
    rows_per_matrix,
    select_rows,
    selection_scores,
    weight_magnitude,
)
from entangle.sparsify.sequential import SparsifySettings, check_settings, sparsify_model

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
    t_job = time.perf_counter()

    net = _load(model, torch_dtype, device)
    for method in ("sparsegpt",) + (("sparse_expansion",) if expand and "wd" in selections else ()):
        check_settings(net, _settings(method, sparsities[0], num_clusters, pca_factor, n_init, seed, batch_size),
                       calib.numel())  # bad pca_factor or K: fail before any work
    shapes = ffn_shapes(net)
    kinds = {parse_selection(n)[0] for n in selections}
    t0 = time.perf_counter()
    outputs = (output_statistics(net, calib, batch_size, WD_TOKENS, wd_method, seed)
               if kinds & set(OUTPUT_STATISTICS) else None)
    magnitude = weight_magnitude(net) if "magnitude" in kinds else None
    log.info("statistics of %d FFN matrices on %d calibration windows x %d: %.1f s", len(shapes), *calib.shape,
             time.perf_counter() - t0)

    if dense_nll is None:
        dense_nll = _evaluate_dense(net, calib, test, layerwise, batch_size)
    else:
        dense_nll = torch.from_numpy(load_window_nll(dense_nll))
        if len(dense_nll) != test.shape[0]:
            raise ValueError(f"the dense run evaluated {len(dense_nll)} windows, this job {test.shape[0]}")
    dense_ppl = perplexity(dense_nll)
    log.info("%s dense: PPL %.4f on %d %s windows x %d", model["name"], dense_ppl, test.shape[0], eval_split,
             test.shape[1])
    originals = _snapshot(net)

    k_per_matrix = {m: rows_per_matrix(d_out, percent) for (_, m), (d_out, _) in shapes.items()}
    chosen = {name: select_rows(name, shapes, percent, selection_scores(parse_selection(name)[0], outputs, magnitude))
              for name in selections}
    plan = [(name, "sparsegpt", s) for name in selections for s in sparsities]
    if expand and "wd" in selections:
        plan += [("wd", "sparse_expansion", s) for s in sparsities]
    records = {name: [] for name in selections}
    for name in selections:
        total = sum(len(v) for v in chosen[name].values())
        log.info("selection %s: %d rows over %d matrices (%s per matrix)%s:\n  %s", name, total, len(shapes),
                 k_per_matrix, f", mean Jaccard with wd {mean_jaccard(chosen[name], chosen['wd']):.3f}"
                 if "wd" in chosen and name != "wd" else "", "\n  ".join(describe_rows(chosen[name], shapes)))

    for name, method, s in tqdm(plan, desc="partial runs", unit="run", mininterval=2.0):
        rows = {key: torch.from_numpy(idx) for key, idx in chosen[name].items()}
        settings = _settings(method, s, num_clusters, pca_factor, n_init, seed, batch_size)
        release = layerwise and method == "sparse_expansion"  # K copies of every expanded block: free each block
        t0 = time.perf_counter()
        result = sparsify_model(net, calib, settings, eval_windows=test if layerwise else None, release=release,
                                rows=rows, progress=False)
        per_window = result.eval_nll if layerwise else window_nll(net, test, batch_size=batch_size)
        entry = {"method": method, **({"num_clusters": num_clusters} if method == "sparse_expansion" else {}),
                 "sparsity": s, "ppl": perplexity(per_window), "mean_nll": float(per_window.mean()),
                 "row_sparsity": row_sparsity(result.linears), "ffn_sparsity": result.ffn_sparsity,
                 "window_nll": per_window.tolist(), "seconds": time.perf_counter() - t0}
        records[name].append(entry)
        log.info("%s %s %s: PPL %.4f (dense %.4f), selected-row sparsity %.4f, FFN sparsity %.4f, %.1f s", name,
                 method, s, entry["ppl"], dense_ppl, entry["row_sparsity"], entry["ffn_sparsity"], entry["seconds"])
        i = selections.index(name)
        if method == "sparsegpt" and s == headline and save_to[i]:
            save_sparse_ffn(net, save_to[i], meta={"model": model["name"], "revision": model["revision"],
                                                   "selection": name, "sparsity": s, "percent": percent,
                                                   "rows": {module_path(net, *k): v.tolist()
                                                            for k, v in chosen[name].items()}})
        if release:
            net = _load(model, torch_dtype, device)
            originals = _snapshot(net)
        else:
            _restore(net, originals)
        if (name, method, s) == _last_run(plan, name):
            _write(summary[i], model, name, records[name], chosen[name], k_per_matrix, dense_nll, calib, test,
                   eval_split, calibration_split, dataset, seed, percent, outputs, wd_method, dtype)
    log.info("job: %.1f s", time.perf_counter() - t_job)


def _settings(method, sparsity, num_clusters, pca_factor, n_init, seed, batch_size) -> SparsifySettings:
    return SparsifySettings(method, sparsity, num_clusters=num_clusters, pca_factor=pca_factor, n_init=n_init,
                            seed=seed, batch_size=batch_size)


def _load(model: dict, dtype, device: str):
    net, _ = load_model(model["source"], model["revision"], dtype=dtype, device=device)
    return net


def _evaluate_dense(net, calib, test, layerwise: bool, batch_size: int) -> torch.Tensor:
    """Per-window NLL of the dense model, by the same path as the runs (layer-wise or the whole model)."""
    if layerwise:
        return sparsify_model(net, calib, SparsifySettings("dense", batch_size=batch_size), eval_windows=test,
                              progress=False).eval_nll
    return window_nll(net, test, batch_size=batch_size)


def _snapshot(net) -> dict:
    """Every FFN linear (the module object) and a CPU copy of its dense weight, by module path."""
    arch = arch_of(net)
    out = {}
    for i in range(len(blocks(net))):
        for m in arch.matrices:
            path = module_path(net, i, m)
            module = net.get_submodule(path)
            out[path] = (module, module_weight(net, module).detach().to("cpu", copy=True))
    return out


def _restore(net, originals: dict) -> None:
    """Put back the dense FFN linears (Sparse Expansion replaced them) and their dense weights."""
    with torch.no_grad():
        for path, (module, weight) in originals.items():
            if net.get_submodule(path) is not module:
                replace_module(net, path, module)
            module_weight(net, module).copy_(weight)


def _last_run(plan: list, name: str) -> tuple:
    return [p for p in plan if p[0] == name][-1]


def _write(path, model, name, runs, chosen, k_per_matrix, dense_nll, calib, test, eval_split, calibration_split,
           dataset, seed, percent, outputs, wd_method, dtype) -> None:
    """The selection's summary: settings, rows, dense and per-run perplexity with per-window NLL (nats; the
    statistics of claims 6 and 14 are paired over these windows)."""
    kind, selection_seed = parse_selection(name)
    wd_tokens = next(iter(outputs.values()))["wd_tokens"] if outputs and kind == "wd" else None
    write_json(path, {
        "model": model["name"], "model_id": model.get("hub_id") or model["source"], "revision": model["revision"],
        "dataset": dataset, "eval_split": eval_split, "eval_windows": int(test.shape[0]),
        "eval_tokens": int(test.numel()), "calibration_split": calibration_split,
        "calibration_tokens": int(calib.numel()), "seed": seed, "dtype": dtype, "selection": kind,
        "selection_seed": selection_seed,
        "percent": percent, "selected_rows": int(sum(len(v) for v in chosen.values())),
        "rows_per_matrix": k_per_matrix, "wd_method": wd_method if kind == "wd" else None, "wd_tokens": wd_tokens,
        "dense_ppl": perplexity(dense_nll), "dense_window_nll": dense_nll.tolist(),
        "runs": [{k: v for k, v in r.items() if k != "seconds"} for r in runs],
    })


if __name__ == "__main__":
    run(main)
