"""NC-F2: cross-layer z-scores of each layer's top-OI token pairs (a) and z-scores of their input distances (b)."""

import logging

import numpy as np
import pandas as pd
import seaborn as sns
from _runner import run
from matplotlib.patches import Rectangle

from entangle.claims import write_claim_values
from entangle.io import save_figure, write_table
from entangle.neurons.dynamics import mean_sem
from entangle.plotting.style import PALETTE, caption, figure
from entangle.zscores import (
    LayerPairs,
    check_same_pairs,
    cross_layer_z,
    diagonal_dominance,
    input_distance_z,
    normalize_to_source,
    top_pair_intervals,
)


def main(tops: list, pairs_paths: list, tokens: str, layers: list, excluded: list, special: int, normalize: str,
         record: dict, scale: str, png: str, pdf: str, csv: str, markdown: str, claims: str) -> None:
    files = [np.load(t) for t in tops]
    lps = [LayerPairs.from_arrays(f) for f in files]
    assert [lp.layer for lp in lps] == list(layers), "layer files out of order"
    check_same_pairs([(f["i"], f["j"]) for f in files], layers)
    n_tokens, n_pairs = int(files[0]["tokens"]), len(files[0]["i"])
    i, j = files[0]["i"], files[0]["j"]
    ids = np.load(tokens).reshape(-1)[:n_tokens]
    distinct_ids = len(np.unique(ids[np.concatenate([i, j])]))

    z = cross_layer_z(lps)  # [S, E, k·m]
    z_mean, z_sem = mean_sem(z, axis=-1)  # [S, E]
    z_norm = normalize_to_source(z_mean, normalize)
    dom = diagonal_dominance(z_mean, layers, special=special)
    dist_z = np.stack([input_distance_z(np.load(p)["input_distance"], lp.pool) for p, lp in zip(pairs_paths, lps)])
    d_mean, d_sem = mean_sem(dist_z, axis=-1)
    logging.info("heatmap (raw z):\n%s", np.round(z_mean, 3))
    logging.info("diagonal dominance: %s", dom)

    rec = {k: record[k] for k in ("name", "model_id", "revision", "dataset", "split", "seed", "matrix", "pairs")}
    rows = []
    for s, src in enumerate(layers):
        for e, ev in enumerate(layers):
            rows.append({"panel": "a", "source_layer": src, "evaluated_layer": ev, "statistic": "oi_ratio_z",
                         "mean": z_mean[s, e], "sem": z_sem[s, e], "normalized": z_norm[s, e],
                         "top_pairs": z.shape[-1]})
        rows.append({"panel": "b", "source_layer": src, "evaluated_layer": src, "statistic": "input_distance_z",
                     "mean": d_mean[s], "sem": d_sem[s], "normalized": np.nan, "top_pairs": dist_z.shape[-1]})
    table = pd.DataFrame(rows)
    table.insert(0, "model", rec["name"])
    for k in ("model_id", "revision", "dataset", "split", "matrix"):
        table[k] = rec[k]
    table["normalize"] = normalize
    table["tokens"], table["pairs"], table["seed"] = n_tokens, n_pairs, rec["seed"]
    write_table(table, csv, markdown)

    # figure
    n = len(layers)
    side = max(4.8, 0.3 * n + 2.6)
    fig, axes = figure(1, 2, width=side, height=max(4.0, 0.27 * n + 2.2))
    ax = axes[0, 0]
    label = {"divide": "z / z(source layer)", "subtract": "z − z(source layer)", "none": "z"}[normalize]
    sns.heatmap(pd.DataFrame(z_norm, index=layers, columns=layers), ax=ax, cmap="viridis", square=True,
                annot=n <= 8, fmt=".2f", annot_kws={"fontsize": "x-small"}, cbar_kws={"label": label, "shrink": 0.8})
    for s in range(n):
        ax.add_patch(Rectangle((s, s), 1, 1, fill=False, edgecolor="white", lw=1.2))
    ax.set(xlabel="evaluated layer (its top-MD neurons)", ylabel="source layer (its top-OI pairs)",
           title=f"(a) cross-layer z of top-OI pairs\nown layer highest in {dom['own_layer_highest']}/{n} rows")
    ax.tick_params(axis="y", rotation=0)
    ax = axes[0, 1]
    ax.bar(np.arange(n), d_mean, yerr=d_sem, color=[PALETTE["wasserstein"] if lay == special else PALETTE["other"]
                                                     for lay in layers], capsize=2, error_kw={"lw": 0.8})
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xticks(np.arange(n), layers)
    ax.set(xlabel="layer", ylabel="input-distance z (mean ± SEM)",
           title=f"(b) input distance vs all pairs\nbelow zero in {int(np.sum(d_mean < 0))}/{n} layers")
    caption(fig, "NC-F2", f"{record['name']} @ {record['revision']} {record['matrix']}-projections ({scale} scale)\n"
                          f"{n_pairs:,} pairs of {n_tokens:,} tokens; layer(s) {', '.join(map(str, excluded)) or 'none'} "
                          f"excluded; rows normalized: {label}")
    fig.tight_layout()
    save_figure(fig, png, pdf)

    order = np.argsort(d_mean)
    est = top_pair_intervals(z, dist_z, list(layers), special)  # each source layer's top pairs redrawn
    write_claim_values(claims, "NC-F2", scale, {
        24: {"share_source_layers_own_highest": est["share_source_layers_own_highest"],
             "own_layer_highest": dom["own_layer_highest"], "source_layers": dom["source_layers"],
             "own_layer_highest_share": dom["own_layer_highest_share"],
             "later_below_source_share": dom["later_below_source_share"], "later_cells": dom["later_cells"],
             "mean_diagonal_z": float(np.mean(np.diag(z_mean))),
             "mean_offdiagonal_z": float(np.mean(z_mean[~np.eye(n, dtype=bool)])) if n > 1 else None},
        25: {"layer": special, "layer1_exceeds_source_count": est.get("layer1_exceeds_source_count"),
             "compared_source_layers": dom.get("special_compared"),
             "layer_offdiag_mean_z": dom.get("special_offdiag_mean"),
             "other_layers_offdiag_mean_z": dom.get("other_offdiag_mean"),
             "layer_offdiag_rank": dom.get("special_offdiag_rank"), "evaluated_layers": n},
        26: {"share_layers_input_z_below_zero": est["share_layers_input_z_below_zero"],
             "layer1_input_z_minus_min_other": est.get("layer1_input_z_minus_min_other"),
             "layer1_most_negative_input_z": bool(layers[order[0]] == special),
             "layers_below_zero": int(np.sum(d_mean < 0)), "layers": n,
             "layers_significantly_below_zero": int(np.sum(d_mean + 2 * d_sem < 0)),
             "most_negative_layer": int(layers[order[0]]), "most_negative_mean_z": d_mean[order[0]],
             "layer_mean_z": d_mean[layers.index(special)] if special in layers else None,
             "layer_rank_most_negative": int(np.flatnonzero(np.asarray(layers)[order] == special)[0] + 1)
             if special in layers else None, "layer": special},
    }, context={**rec, "tokens": n_tokens, "layers": list(layers), "excluded_layers": list(excluded),
                "normalize": normalize, "top_neurons": int(lps[0].top.shape[0]), "top_pairs": int(lps[0].top.shape[1]),
                "distinct_token_ids_in_pairs": distinct_ids, "distinct_positions_in_pairs": 2 * n_pairs,
                "zscore_reference": "per evaluated neuron: OI mean and std (ddof 0) over all pairs; z averaged "
                                    "over the evaluated layer's top neurons, then over the source layer's top pairs"})


if __name__ == "__main__":
    run(main)
