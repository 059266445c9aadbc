"""NC-F2: cross-layer z-scores of each layer's top-OI token pairs (a) and z-scores of their input distances (b).

With a gated-FFN model (role `gated`), the same over its gate projections: panels c, d, table rows (column
`model`) and claims 24-26 under `by_model`."""

import logging
import warnings

import numpy as np
import pandas as pd
import seaborn as sns
from _runner import run
from matplotlib.patches import Rectangle

from entangle.claims import write_claim_values
from entangle.io import save_figure, write_table
from entangle.neurons.dynamics import mean_sem
from entangle.pairs.zscores import (
    LayerPairs,
    check_same_pairs,
    cross_layer_z,
    diagonal_dominance,
    input_distance_z,
    normalize_to_source,
    top_pair_intervals,
)
from entangle.plotting.style import PALETTE, caption, figure


def _analyse(tops: list, pairs_paths: list, tokens: str, layers: list, special: int, normalize: str,
             record: dict) -> dict:
    """One model's cross-layer z-scores (a), input-distance z-scores (b), table rows and claim values."""
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
    # claims 24, 25: the diagonal scored without the neurons that selected each pair (the figure stays in-sample)
    z_held = cross_layer_z(lps, held_out=True)
    with warnings.catch_warnings():  # a pair every top neuron selected has no held-out score (NaN)
        warnings.simplefilter("ignore", RuntimeWarning)
        held_mean = np.nanmean(z_held, axis=-1)
    dom_held = diagonal_dominance(held_mean, layers, special=special)
    dist_z = np.stack([input_distance_z(np.load(p)["input_distance"], lp.pool) for p, lp in zip(pairs_paths, lps)])
    d_mean, d_sem = mean_sem(dist_z, axis=-1)
    logging.info("%s heatmap (raw z):\n%s", record["name"], np.round(z_mean, 3))
    logging.info("%s diagonal dominance: %s", record["name"], dom)

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

    n = len(layers)
    order = np.argsort(d_mean)
    est = top_pair_intervals(z, dist_z, list(layers), special)  # each source layer's top pairs redrawn
    held = top_pair_intervals(z_held, dist_z, list(layers), special)
    values = {
        24: {"share_source_layers_own_highest_held_out": held["share_source_layers_own_highest"],
             "own_layer_highest_held_out": dom_held["own_layer_highest"],
             "later_below_source_share_held_out": dom_held["later_below_source_share"],
             "mean_diagonal_z_held_out": float(np.nanmean(np.diag(held_mean))),
             "share_source_layers_own_highest": est["share_source_layers_own_highest"],
             "own_layer_highest": dom["own_layer_highest"], "source_layers": dom["source_layers"],
             "own_layer_highest_share": dom["own_layer_highest_share"],
             "later_below_source_share": dom["later_below_source_share"], "later_cells": dom["later_cells"],
             "mean_diagonal_z": float(np.mean(np.diag(z_mean))),
             "mean_offdiagonal_z": float(np.mean(z_mean[~np.eye(n, dtype=bool)])) if n > 1 else None},
        25: {"layer": special, "layer1_exceeds_source_count_held_out": held.get("layer1_exceeds_source_count"),
             "layer1_exceeds_source_count": est.get("layer1_exceeds_source_count"),
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
    }
    return {"table": table, "values": values, "rec": rec, "layers": list(layers), "z_norm": z_norm, "dom": dom,
            "d_mean": d_mean, "d_sem": d_sem, "n_tokens": n_tokens, "n_pairs": n_pairs, "lps": lps,
            "distinct_ids": distinct_ids}


def _plot(axes, a: dict, special: int, normalize: str, letters: str) -> None:
    layers, n, name = a["layers"], len(a["layers"]), a["rec"]["name"]
    ax = axes[0]
    label = {"divide": "z / z(source layer)", "subtract": "z − z(source layer)", "none": "z"}[normalize]
    sns.heatmap(pd.DataFrame(a["z_norm"], index=layers, columns=layers), ax=ax, cmap="viridis", square=True,
                annot=n <= 8, fmt=".2f", annot_kws={"fontsize": "x-small"}, cbar_kws={"label": label, "shrink": 0.8})
    for s in range(n):
        ax.add_patch(Rectangle((s, s), 1, 1, fill=False, edgecolor="white", lw=1.2))
    ax.set(xlabel="evaluated layer (its top-MD neurons)", ylabel="source layer (its top-OI pairs)",
           title=f"({letters[0]}) {name} {a['rec']['matrix']}: cross-layer z of top-OI pairs\n"
                 f"own layer highest in {a['dom']['own_layer_highest']}/{n} rows")
    ax.tick_params(axis="y", rotation=0)
    ax = axes[1]
    ax.bar(np.arange(n), a["d_mean"], yerr=a["d_sem"], capsize=2, error_kw={"lw": 0.8},
           color=[PALETTE["wasserstein"] if lay == special else PALETTE["other"] for lay in layers])
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xticks(np.arange(n), layers, fontsize="x-small" if n > 12 else None)
    ax.set(xlabel="layer", ylabel="input-distance z (mean ± SEM)",
           title=f"({letters[1]}) {name}: input distance vs all pairs\n"
                 f"below zero in {int(np.sum(a['d_mean'] < 0))}/{n} layers")


def main(tops: list, pairs_paths: list, tokens: str, layers: list, excluded: list, special: int, normalize: str,
         record: dict, scale: str, png: str, pdf: str, csv: str, markdown: str, claims: str,
         gated_tops: list | None = None, gated_pairs_paths: list | None = None, gated_tokens: str | None = None,
         gated_layers: list | None = None, gated_record: dict | None = None) -> None:
    a = _analyse(tops, pairs_paths, tokens, layers, special, normalize, record)
    g = _analyse(gated_tops, gated_pairs_paths, gated_tokens, gated_layers, special, normalize, gated_record) \
        if gated_record else None
    write_table(pd.concat([a["table"]] + ([g["table"]] if g else []), ignore_index=True), csv, markdown)

    n = max(len(layers), len(gated_layers or []))
    side = max(4.8, 0.3 * n + 2.6)
    fig, axes = figure(2 if g else 1, 2, width=side, height=max(4.0, 0.27 * n + 2.2))
    _plot(axes[0], a, special, normalize, "ab")
    if g:
        _plot(axes[1], g, special, normalize, "cd")
    label = {"divide": "z / z(source layer)", "subtract": "z − z(source layer)", "none": "z"}[normalize]
    models = f"{record['name']} @ {record['revision']} {record['matrix']}-projections" + (
        f" (a, b); {gated_record['name']} @ {gated_record['revision']} {gated_record['matrix']}-projections (c, d)"
        if g else "")
    caption(fig, "NC-F2", f"{models} ({scale} scale)\n"
                          f"{a['n_pairs']:,} pairs of {a['n_tokens']:,} tokens; layer(s) "
                          f"{', '.join(map(str, excluded)) or 'none'} excluded; rows normalized: {label}")
    fig.tight_layout()
    save_figure(fig, png, pdf)

    rec, lps = a["rec"], a["lps"]
    write_claim_values(claims, "NC-F2", scale, a["values"], context={
        **rec, "tokens": a["n_tokens"], "layers": list(layers), "excluded_layers": list(excluded),
        "normalize": normalize, "top_neurons": int(lps[0].top.shape[0]), "top_pairs": int(lps[0].top.shape[1]),
        "distinct_token_ids_in_pairs": a["distinct_ids"], "distinct_positions_in_pairs": 2 * a["n_pairs"],
        "zscore_reference": "per evaluated neuron: OI mean and std (ddof 0) over all pairs; z averaged "
                            "over the evaluated layer's top neurons, then over the source layer's top pairs",
        "held_out": "claims 24, 25 (*_held_out): in the source layer's own cell each pair is averaged over the top "
                    "neurons that did not select it; the heatmap is in-sample (every top neuron)",
        **({"gated_model": gated_record["name"], "gated_matrix": gated_record["matrix"],
            "gated_tokens": g["n_tokens"]} if g else {})},
        by_model={gated_record["name"]: g["values"]} if g else None)


if __name__ == "__main__":
    run(main)
