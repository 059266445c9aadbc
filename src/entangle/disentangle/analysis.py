"""The per-layer analysis behind WD-F1, F5b/c, F6, F7, F8, FA4b, FA8 and FA9 (one FFN matrix, held-out tokens).

`analyse_layer` returns four things, written by scripts/disentangle_layer.py:
- neurons: one row per neuron: WD to N(0,1), output mean and variance, mean |w|, RMSE of SparseGPT and
  of Sparse Expansion (K experts) against the dense output, RI; with `detail`, RMSE per K of the sweep,
  the BIC-optimal GMM component count, per-row sparsity of SparseGPT at each sweep sparsity, WD over the
  sweep for the Wasserstein neurons (top-p% WD) and the sample neurons, and for the WNs weighted WD and MD
  before and after expansion with their controls (random clusters; non-WN control neurons for WD);
- clusters: one row per expert (K = num_clusters): calibration and held-out tokens, PCA components for
  `pca_variance` of its held-out inputs, RMSE of its expert and of SparseGPT on its tokens;
- samples: full held-out output samples of a few neurons (the top-WD one, a random one, the configured
  one): dense, per K, and (detail) per sweep sparsity, with the tokens' expert labels; with `detail`, also
  per K > 1 the same neurons' outputs under `router_seeds` router fits (k-means seeds seed, seed + 1, ...;
  `k{K}_seeds` [seeds, T, n], the first being `k{K}`), so WD-F6's interval can resample the router;
- summary: the sample neurons' WD(sparse, dense), RI and expert separation, and cluster sizes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from threadpoolctl import threadpool_limits

from entangle.metrics.mapping import mapping_difficulty
from entangle.metrics.wasserstein import wasserstein_to_gaussian
from entangle.neurons.selection import top_percent

from . import measures
from .layer import LayerData, SparseLayer, neuron_outputs, rmse, row_sparsity, sparse_expansion, sparsegpt, squared_errors

log = logging.getLogger(__name__)

CONTROL_NEURONS = 512  # non-WNs whose weighted WD is measured as claim 15's control (all if fewer)


@dataclass
class AnalysisSettings:
    """`disentangle` config block plus the Sparse Expansion router settings (sparsify.expansion)."""

    sparsity: float = 0.9
    num_clusters: int = 16
    ks: list[int] = field(default_factory=lambda: [1, 2, 4, 8, 16])
    neuron: int | str = "top"
    wn_percent: float = 5.0
    sweep: list[float] = field(default_factory=lambda: [0, 0.5, 0.9])
    md_pairs: int = 2000
    gmm_max_components: int = 10
    gmm_tokens: int = 4000
    pca_variance: float = 0.9
    pca_factor: int | None = 32
    n_init: int = 100
    wd_method: str = "fast"
    seed: int = 0
    ties: str = "reference"  # pruning ties (config prune_ties; entangle.sparsify.masks)
    router_seeds: int = 1  # router fits per K > 1 of the detail layer's K sweep (WD-F6, claim 13)


@dataclass
class LayerAnalysis:
    neurons: pd.DataFrame
    clusters: pd.DataFrame
    samples: dict[str, np.ndarray]
    summary: dict


def sample_neurons(wd: np.ndarray, neuron: int | str, seed: int) -> dict[str, int]:
    """The neurons whose full samples are kept: entangled (top WD), random (seeded, among live neurons), chosen."""
    live = np.flatnonzero(np.isfinite(wd))
    chosen = {"entangled": int(live[np.argmax(wd[live])]),
              "random": int(np.random.default_rng(seed).choice(live))}
    if neuron != "top":
        if not 0 <= int(neuron) < wd.size:
            raise ValueError(f"disentangle.neuron = {neuron} is not a neuron of this layer (0..{wd.size - 1}); "
                             "use an index in range or 'top'")
        chosen["chosen"] = int(neuron)
    else:
        chosen["chosen"] = chosen["entangled"]
    return chosen


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy()


def _cluster_table(data: LayerData, se: SparseLayer, sse_se: torch.Tensor, sse_base: torch.Tensor,
                   counts: torch.Tensor, cfg: AnalysisSettings, dense_std: float) -> pd.DataFrame:
    """Per expert: tokens, PCA components for `pca_variance` of its held-out inputs, relative RMSE of expert and SparseGPT.

    sse_se, sse_base: [K, d_out] squared errors of the experts and of SparseGPT on each expert's held-out tokens.
    """
    d_out = data.weight.shape[0]
    cal_counts = torch.bincount(se.calibration_labels, minlength=se.num_experts)
    rows = []
    for c in range(se.num_experts):
        n = int(counts[c])
        x = _np(data.inputs[se.labels == c]) if n > 1 else None
        denom = max(n, 1) * d_out
        rows.append({"cluster": c, "cluster_calibration_tokens": int(cal_counts[c]), "cluster_tokens": n,
                     "pca_components": measures.pca_components(x, cfg.pca_variance) if x is not None else np.nan,
                     "rmse_expert": float(np.sqrt(sse_se[c].sum().item() / denom)) / dense_std if n else np.nan,
                     "rmse_sparsegpt": float(np.sqrt(sse_base[c].sum().item() / denom)) / dense_std if n else np.nan})
    table = pd.DataFrame(rows)
    table["improvement"] = table["rmse_sparsegpt"] / table["rmse_expert"]
    return table


def analyse_layer(data: LayerData, cfg: AnalysisSettings, detail: bool = True) -> LayerAnalysis:
    """Everything the neuron-level items need from one layer (see the module docstring)."""
    dense = _np(data.outputs)
    wd = wasserstein_to_gaussian(dense, method=cfg.wd_method, seed=cfg.seed)
    w = _np(data.weight)
    neurons = pd.DataFrame({"neuron": np.arange(w.shape[0]), "wd": wd, "mean": dense.mean(0, dtype=np.float64),
                            "variance": dense.var(0, dtype=np.float64), "mean_abs_weight": np.abs(w).mean(1)})
    picks = sample_neurons(wd, cfg.neuron, cfg.seed)
    sample_idx = sorted(set(picks.values()))
    wns = top_percent(wd, cfg.wn_percent)
    neurons["is_wn"] = neurons["neuron"].isin(wns)

    base = sparsegpt(data, cfg.sparsity, cfg.ties)
    se = sparse_expansion(data, cfg.sparsity, cfg.num_clusters, cfg.pca_factor, cfg.n_init, cfg.seed, cfg.ties)
    # One pass over the held-out tokens per sparse layer: SparseGPT's errors grouped by the tokens' experts give
    # both its per-neuron RMSE (summed over experts) and its RMSE per cluster (WD-F8).
    sse_se, counts = squared_errors(data, se)
    sse_base, _ = squared_errors(data, SparseLayer(base.experts.expand(se.num_experts, -1, -1), se.labels,
                                                   se.calibration_labels))
    neurons["rmse_sparsegpt"] = _np((sse_base.sum(0) / counts.sum()).sqrt())
    neurons["rmse_se"] = _np((sse_se.sum(0) / counts.sum()).sqrt())
    neurons["ri"] = measures.relative_improvement(neurons["rmse_sparsegpt"], neurons["rmse_se"])
    neurons["ri_percent"] = measures.ri_percent(neurons["ri"])
    log.info("K=%d at %.2f: median RI %.3f; cluster sizes %s", cfg.num_clusters, cfg.sparsity,
             np.nanmedian(neurons["ri"]), counts.tolist())
    clusters = _cluster_table(data, se, sse_se, sse_base, counts, cfg, float(np.sqrt(neurons["variance"].mean())))

    samples: dict[str, np.ndarray] = {"neurons": np.array(sample_idx), "dense": dense[:, sample_idx]}
    layers_by_k = {1: base, cfg.num_clusters: se}
    ks = sorted(set(cfg.ks) | {1, cfg.num_clusters}) if detail else [1, cfg.num_clusters]
    for k in ks:
        sk = layers_by_k.get(k) or sparse_expansion(data, cfg.sparsity, k, cfg.pca_factor, cfg.n_init, cfg.seed,
                                                    cfg.ties)
        if detail and k not in layers_by_k:
            neurons[f"rmse_k{k}"] = _np(rmse(data, sk))
        samples[f"k{k}"] = _np(neuron_outputs(data, sk, sample_idx))
        samples[f"labels_k{k}"] = _np(sk.labels)
        if detail and k > 1:
            samples[f"k{k}_seeds"] = np.stack([samples[f"k{k}"]] + [_np(neuron_outputs(data, sparse_expansion(
                data, cfg.sparsity, k, cfg.pca_factor, cfg.n_init, cfg.seed + r, cfg.ties), sample_idx))
                for r in range(1, cfg.router_seeds)])
    if detail:
        neurons["rmse_k1"], neurons[f"rmse_k{cfg.num_clusters}"] = neurons["rmse_sparsegpt"], neurons["rmse_se"]

    summary = {"sample_neurons": picks, "sparsity": cfg.sparsity, "num_clusters": cfg.num_clusters, "ks": ks,
               "router_seeds": cfg.router_seeds if detail else 1,
               "wn_percent": cfg.wn_percent, "wn_count": int(wns.size),
               "cluster_tokens": counts.tolist(), "neurons": {}}
    for name, j in picks.items():
        col = sample_idx.index(j)
        d = samples["dense"][:, col]
        row = neurons.loc[j]
        summary["neurons"][name] = {
            "neuron": j, "wd": float(row["wd"]), "ri": float(row["ri"]), "ri_percent": float(row["ri_percent"]),
            "expert_separation": measures.expert_separation(samples[f"k{cfg.num_clusters}"][:, col],
                                                             samples[f"labels_k{cfg.num_clusters}"]),
            "wd_to_dense": {str(k): measures.wd_between(samples[f"k{k}"][:, col], d) for k in ks},
            "ri_by_k": ({str(k): float(row["rmse_sparsegpt"] / row[f"rmse_k{k}"]) for k in ks} if detail else {}),
        }

    if detail:
        _detail(data, cfg, neurons, wns, base, se, samples, sample_idx, summary)
    return LayerAnalysis(neurons, clusters, samples, summary)


def _detail(data: LayerData, cfg: AnalysisSettings, neurons: pd.DataFrame, wns: np.ndarray, base: SparseLayer,
            se: SparseLayer, samples: dict, sample_idx: list[int], summary: dict) -> None:
    """Sparsity sweep (FA9, FA4b), weighted WD/MD of the Wasserstein neurons (F5b/c), GMM components (F7).

    base: SparseGPT at cfg.sparsity, reused where the sweep reaches that sparsity.
    """
    track = sorted(set(wns.tolist()) | set(sample_idx))
    sweep_out, sweep_wd, sweep_change = [], [], []
    dense = _np(data.outputs[:, track]).astype(np.float64)
    dense_sd = dense.std(0)
    for s in cfg.sweep:
        sparse = None if s == 0 else base if s == cfg.sparsity else sparsegpt(data, s, cfg.ties)
        neurons[f"row_sparsity_s{s:g}"] = _np(row_sparsity(sparse)) if sparse is not None else 0.0
        out = _np(neuron_outputs(data, sparse, track)) if sparse is not None else _np(data.outputs[:, track])
        sweep_out.append(out[:, [track.index(j) for j in sample_idx]])
        sweep_wd.append(wasserstein_to_gaussian(np.ascontiguousarray(out), method="exact"))
        with np.errstate(divide="ignore", invalid="ignore"):  # output change: RMSE to dense / dense std (claim 10)
            sweep_change.append(np.sqrt(((out.astype(np.float64) - dense) ** 2).mean(0)) / dense_sd)
    samples["sweep"] = np.asarray(cfg.sweep, dtype=np.float64)
    samples["sweep_outputs"] = np.stack(sweep_out)  # [n_sweep, T, n_samples]
    sweep_wd = np.stack(sweep_wd)  # [n_sweep, n_track]
    wn_cols = [track.index(j) for j in wns]
    summary["sweep"] = {"sparsity": list(cfg.sweep),
                        "wd_median_wn": np.nanmedian(sweep_wd[:, wn_cols], axis=1).tolist(),
                        "wd": {str(j): sweep_wd[:, track.index(j)].tolist() for j in sample_idx}}
    for row, s in enumerate(cfg.sweep):  # every tracked neuron's WD and output change over the sweep (claim 10)
        neurons[f"wd_sweep_s{s:g}"] = np.nan
        neurons.loc[track, f"wd_sweep_s{s:g}"] = sweep_wd[row]
        neurons[f"out_change_sweep_s{s:g}"] = np.nan
        neurons.loc[track, f"out_change_sweep_s{s:g}"] = sweep_change[row]

    _weighted(data, cfg, neurons, wns, se)

    rng = np.random.default_rng(cfg.seed)
    rows = rng.choice(data.outputs.shape[0], size=min(cfg.gmm_tokens, data.outputs.shape[0]), replace=False)
    sub = _np(data.outputs[torch.as_tensor(np.sort(rows))]).astype(np.float64)
    with threadpool_limits(limits=1):  # sklearn's k-means init oversubscribes small machines (6x slower on 2 busy cores)
        neurons["gmm_components"] = [measures.gmm_components(sub[:, j], cfg.gmm_max_components, cfg.seed)
                                     for j in range(sub.shape[1])]


def control_neurons(n: int, wns: np.ndarray, seed: int, limit: int = CONTROL_NEURONS) -> np.ndarray:
    """Non-Wasserstein neurons measured like the WNs (claim 15's control): all of them, or a seeded sample of
    `limit` when there are more. Sorted int64."""
    rest = np.setdiff1d(np.arange(n), wns)
    if rest.size > limit:
        rest = np.sort(np.random.default_rng(seed).choice(rest, limit, replace=False))
    return rest.astype(np.int64)


def _weighted(data: LayerData, cfg: AnalysisSettings, neurons: pd.DataFrame, wns: np.ndarray, se: SparseLayer) -> None:
    """Weighted WD / MD (WD-F5b/c) of the WNs before and after expansion, with their controls, into `neurons`.

    - before: the dense neuron over all held-out tokens; after: the size-weighted mean over Sparse Expansion's
      clusters of each expert's output on its own tokens (`_dense`: the dense output in those clusters);
      `_random`: the same expert outputs grouped by random clusters of the same sizes.
    - MD inside a cluster uses the neuron's global normalisers (those of `md_before`); `md_after_own` keeps the
      per-cluster normalisers of the old definition, for the record (README "Choices").
    - WD before/after also for the non-WN control neurons (`is_control`), the same experts and clusters.
    """
    x, dense = _np(data.inputs), _np(data.outputs[:, wns])
    after = _np(neuron_outputs(data, se, wns.tolist()))
    labels = _np(se.labels)
    shuffled = measures.random_clusters(labels, cfg.seed)
    before = mapping_difficulty(x, dense, min(cfg.md_pairs, x.shape[0] // 2), cfg.seed)
    norm = {"n_x": before.n_x, "n_y": before.n_y}
    weighted = {
        "wd_before": neurons.loc[wns, "wd"].to_numpy(),
        "wd_after": measures.weighted_wd(after, labels),
        "wd_after_dense": measures.weighted_wd(dense, labels),
        "wd_after_random": measures.weighted_wd(after, shuffled),
        "md_before": before.md,
        "md_after": measures.weighted_md(x, after, labels, cfg.md_pairs, cfg.seed, **norm),
        "md_after_dense": measures.weighted_md(x, dense, labels, cfg.md_pairs, cfg.seed, **norm),
        "md_after_random": measures.weighted_md(x, after, shuffled, cfg.md_pairs, cfg.seed, **norm),
        "md_after_own": measures.weighted_md(x, after, labels, cfg.md_pairs, cfg.seed),
    }
    for name, values in weighted.items():
        neurons[name] = np.nan
        neurons.loc[wns, name] = values
    controls = control_neurons(data.weight.shape[0], wns, cfg.seed)
    neurons["is_control"] = neurons["neuron"].isin(controls)
    if controls.size:
        neurons.loc[controls, "wd_before"] = neurons.loc[controls, "wd"].to_numpy()
        neurons.loc[controls, "wd_after"] = measures.weighted_wd(_np(neuron_outputs(data, se, controls.tolist())), labels)

