"""The partial-sparsification job (WD-F3, WD-F5a): choose the rows, run every (selection, method, sparsity),
restore the dense model between runs, and summarise each selection.

One dense model serves every run: its per-row output statistics on the calibration windows (only if a
selection needs them), then per run row-wise SparseGPT (or, for `wd` with `expand`, Sparse Expansion of
the same rows) block by block (`entangle.sparsify.sequential`, rows=...), perplexity on the evaluation
windows, and the dense FFN linears and weights put back (`snapshot_ffn`, `restore_ffn`), or, after a
layer-wise run that released its blocks, the model reloaded. Which rows and why: `entangle.sparsify.partial`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from entangle.evaluation.perplexity import window_nll
from entangle.evaluation.ppl import perplexity
from entangle.models.arch import arch_of, blocks, module_weight
from entangle.neurons.selection import parse_selection

from .ffn import module_path, replace_module
from .partial import (OUTPUT_STATISTICS, WD_TOKENS, Key, describe_rows, ffn_shapes, mean_jaccard, output_statistics,
                      row_sparsity, rows_per_matrix, select_rows, selection_scores, weight_magnitude)
from .sequential import SparsifySettings, sparsify_model

log = logging.getLogger(__name__)

Run = tuple[str, str, str]  # (selection, method, sparsity)


@dataclass(frozen=True)
class RunSettings:
    """What every run of a job shares; `for_run` gives one run's `SparsifySettings`."""

    num_clusters: int
    pca_factor: int | None
    n_init: int
    seed: int
    batch_size: int

    def for_run(self, method: str, sparsity: str) -> SparsifySettings:
        return SparsifySettings(method, sparsity, num_clusters=self.num_clusters, pca_factor=self.pca_factor,
                                n_init=self.n_init, seed=self.seed, batch_size=self.batch_size)


@dataclass
class Selections:
    """The rows each selection prunes: shapes and k per matrix, the statistics they were ranked by."""

    shapes: dict[Key, tuple[int, int]]
    k_per_matrix: dict[str, int]
    chosen: dict[str, dict[Key, np.ndarray]]   # selection -> (layer, matrix) -> sorted int64 rows
    outputs: dict[Key, dict] | None            # `output_statistics`, None if no selection needs it


def selection_statistics(net: nn.Module, calib: Tensor, selections: list[str], batch_size: int, wd_method: str,
                         seed: int) -> tuple[dict, dict | None, dict | None]:
    """(shapes, output statistics, weight magnitudes) of the dense model, each computed only if a selection needs it."""
    shapes = ffn_shapes(net)
    kinds = {parse_selection(n)[0] for n in selections}
    t0 = time.perf_counter()
    outputs = (output_statistics(net, calib, batch_size, WD_TOKENS, wd_method, seed)
               if kinds & set(OUTPUT_STATISTICS) else None)
    magnitude = weight_magnitude(net) if "magnitude" in kinds else None
    log.info("statistics of %d FFN matrices on %d calibration windows x %d: %.1f s", len(shapes), *calib.shape,
             time.perf_counter() - t0)
    return shapes, outputs, magnitude


def choose_rows(shapes: dict, outputs: dict | None, magnitude: dict | None, selections: list[str],
                percent: float) -> Selections:
    """Every selection's rows (`select_rows`), logged with their overlap with `wd`."""
    k_per_matrix = {m: rows_per_matrix(d_out, percent) for (_, m), (d_out, _) in shapes.items()}
    chosen = {name: select_rows(name, shapes, percent, selection_scores(parse_selection(name)[0], outputs, magnitude))
              for name in selections}
    for name in selections:
        total = sum(len(v) for v in chosen[name].values())
        log.info("selection %s: %d rows over %d matrices (%s per matrix)%s:\n  %s", name, total, len(shapes),
                 k_per_matrix, f", mean Jaccard with wd {mean_jaccard(chosen[name], chosen['wd']):.3f}"
                 if "wd" in chosen and name != "wd" else "", "\n  ".join(describe_rows(chosen[name], shapes)))
    return Selections(shapes, k_per_matrix, chosen, outputs)


def plan_runs(selections: list[str], sparsities: list[str], expand: bool) -> list[Run]:
    """Run order: SparseGPT for every selection and sparsity, then, with `expand`, Sparse Expansion of `wd`."""
    plan = [(name, "sparsegpt", s) for name in selections for s in sparsities]
    if expand and "wd" in selections:
        plan += [("wd", "sparse_expansion", s) for s in sparsities]
    return plan


def last_run(plan: list[Run], name: str) -> Run:
    """The run after which a selection's summary is complete."""
    return [p for p in plan if p[0] == name][-1]


def evaluate_dense(net: nn.Module, calib: Tensor, test: Tensor, layerwise: bool, batch_size: int) -> Tensor:
    """Per-window NLL of the dense model, by the same path as the runs (layer-wise or the whole model)."""
    if layerwise:
        return sparsify_model(net, calib, SparsifySettings("dense", batch_size=batch_size), eval_windows=test,
                              progress=False).eval_nll
    return window_nll(net, test, batch_size=batch_size)


def snapshot_ffn(net: nn.Module) -> dict[str, tuple[nn.Module, Tensor]]:
    """Every FFN linear (the module object) and a CPU copy of its dense weight, by module path."""
    arch = arch_of(net)
    out = {}
    for i in range(len(blocks(net))):
        for m in arch.matrices:
            path = module_path(net, i, m)
            module = net.get_submodule(path)
            out[path] = (module, module_weight(net, module).detach().to("cpu", copy=True))
    return out


def restore_ffn(net: nn.Module, originals: dict[str, tuple[nn.Module, Tensor]]) -> None:
    """Put back the dense FFN linears (Sparse Expansion replaced them) and their dense weights."""
    with torch.no_grad():
        for path, (module, weight) in originals.items():
            if net.get_submodule(path) is not module:
                replace_module(net, path, module)
            module_weight(net, module).copy_(weight)


def run_partial(net: nn.Module, calib: Tensor, test: Tensor, chosen: dict[str, dict[Key, np.ndarray]],
                plan: list[Run], settings: RunSettings, layerwise: bool, reload: Callable[[], nn.Module],
                dense_ppl: float, on_pruned: Callable[[nn.Module, Run], None] | None = None,
                on_selection: Callable[[str, list[dict]], None] | None = None) -> dict[str, list[dict]]:
    """Every run of `plan` on `net`, the dense model restored after each; returns selection -> run records.

    A record: method, num_clusters (Sparse Expansion), sparsity, ppl, mean_nll, row_sparsity, ffn_sparsity,
    window_nll (nats per window [windows]) and seconds. `on_pruned(net, run)` sees the pruned model before it
    is restored; `on_selection(name, records)` is called once a selection's last run is done. Layer-wise
    Sparse Expansion frees its blocks as it goes, so `reload()` gives a fresh dense model after it.
    """
    records = {name: [] for name in chosen}
    originals = snapshot_ffn(net)
    for name, method, s in tqdm(plan, desc="partial runs", unit="run", mininterval=2.0):
        rows = {key: torch.from_numpy(idx) for key, idx in chosen[name].items()}
        release = layerwise and method == "sparse_expansion"  # K copies of every expanded block: free each block
        t0 = time.perf_counter()
        result = sparsify_model(net, calib, settings.for_run(method, s), eval_windows=test if layerwise else None,
                                release=release, rows=rows, progress=False)
        per_window = result.eval_nll if layerwise else window_nll(net, test, batch_size=settings.batch_size)
        entry = {"method": method, **({"num_clusters": settings.num_clusters} if method == "sparse_expansion" else {}),
                 "sparsity": s, "ppl": perplexity(per_window), "mean_nll": float(per_window.mean()),
                 "row_sparsity": row_sparsity(result.linears), "ffn_sparsity": result.ffn_sparsity,
                 "window_nll": per_window.tolist(), "seconds": time.perf_counter() - t0}
        records[name].append(entry)
        log.info("%s %s %s: PPL %.4f (dense %.4f), selected-row sparsity %.4f, FFN sparsity %.4f, %.1f s", name,
                 method, s, entry["ppl"], dense_ppl, entry["row_sparsity"], entry["ffn_sparsity"], entry["seconds"])
        if on_pruned is not None:
            on_pruned(net, (name, method, s))
        if release:
            net = reload()
            originals = snapshot_ffn(net)
        else:
            restore_ffn(net, originals)
        if on_selection is not None and (name, method, s) == last_run(plan, name):
            on_selection(name, records[name])
    return records


def selection_summary(model: dict, name: str, runs: list[dict], sel: Selections, dense_nll: Tensor, calib: Tensor,
                      test: Tensor, eval_split: str, calibration_split: str, dataset: str, seed: int, percent: float,
                      wd_method: str, dtype: str) -> dict:
    """A selection's summary JSON: settings, rows, dense and per-run perplexity with per-window NLL (nats; the
    statistics of claims 6 and 14 are paired over these windows)."""
    kind, selection_seed = parse_selection(name)
    chosen, outputs = sel.chosen[name], sel.outputs
    wd_tokens = next(iter(outputs.values()))["wd_tokens"] if outputs and kind == "wd" else None
    return {
        "model": model["name"], "model_id": model.get("hub_id") or model["source"], "revision": model["revision"],
        "dataset": dataset, "eval_split": eval_split, "eval_windows": int(test.shape[0]),
        "eval_tokens": int(test.numel()), "calibration_split": calibration_split,
        "calibration_tokens": int(calib.numel()), "seed": seed, "dtype": dtype, "selection": kind,
        "selection_seed": selection_seed,
        "percent": percent, "selected_rows": int(sum(len(v) for v in chosen.values())),
        "rows_per_matrix": sel.k_per_matrix, "wd_method": wd_method if kind == "wd" else None, "wd_tokens": wd_tokens,
        "dense_ppl": perplexity(dense_nll), "dense_window_nll": dense_nll.tolist(),
        "runs": [{k: v for k, v in r.items() if k != "seconds"} for r in runs],
    }
