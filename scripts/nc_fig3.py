"""NC-F3: one entangled neuron: its top OI pairs as tokens (T1, T2, NT1, NT2), where they fall in its
pre-activation distribution, and its IO relationship with the top pairs highlighted; beside it, the layer's
distribution of the same negative share over every neuron's top pairs (claim 28's population). With a
gated-FFN model (role `gated`), the same for its gate projection's top-MD neuron (second row, table rows,
claims `by_model`)."""

import logging

import numpy as np
import pandas as pd
from _runner import run

from entangle.claims import write_claim_values
from entangle.io import save_figure, write_table
from entangle.pairs.neuron_pairs import (item_neurons, layer_negative_shares, layer_negative_summary,
                                         load_layer_item, md_rank, negative_share, negative_share_estimate,
                                         neuron_top_pairs, pair_table, pair_tokens)
from entangle.plotting.neurons import io_scatter, output_histogram, pair_token_table
from entangle.plotting.style import PALETTE, caption, figure
from entangle.tokens import breakdown, dominated_share


def _analyse(top: str, md: str, pairs_path: str, inputs: str, outputs: str, tokens: str, vocabulary: str,
             layer: int, select: dict, record: dict) -> dict:
    """One model's entangled neuron: pair table, table rows, claim values and context."""
    d = load_layer_item(top, md, pairs_path, inputs, outputs, tokens, vocabulary)
    neuron, _, _ = item_neurons(d.md, select["neuron"], select["table_neurons"], select["scatter_neurons"], layer=layer)
    oi, best, dx, dy = neuron_top_pairs(d.inputs, d.outputs, d.i, d.j, [neuron], select["top_pairs"])
    oi, best, dy = oi[:, 0], best[0], dy[:, 0]
    pre = np.asarray(d.outputs[:, neuron], dtype=np.float64)
    frame = pair_table(neuron, best, oi, d.i, d.j, pre, dx, dy, d.tokens, d.vocabulary)
    rank = md_rank(d.md, [neuron])[0]
    neg, n_tok = negative_share(frame)
    layer_shares = layer_negative_shares(d.inputs, d.outputs, d.i, d.j, select["top_pairs"])
    layer_summary = layer_negative_summary(layer_shares, neuron)
    logging.info("%s neuron %d (MD rank %s):\n%s", record["name"], neuron, rank,
                 frame[["T1", "T2", "NT1", "NT2", "oi_ratio", "pre1", "pre2"]])

    table = frame.copy()
    table.insert(0, "model", record["name"])
    for k in ("model_id", "revision", "dataset", "split", "matrix"):
        table[k] = record[k]
    table["layer"], table["md"], table["md_rank"] = layer, d.md[neuron], rank
    table["tokens"], table["pairs"], table["seed"] = len(d.inputs), len(d.i), record["seed"]
    # claim 28 beside the neuron: its share and the layer's (every neuron's top pairs, the same rule)
    table["share_negative_neuron"] = neg / n_tok if n_tok else np.nan
    table["share_negative_layer_median"] = float(np.nanmedian(layer_shares["share"]))
    table["share_negative_layer_percentile"] = layer_summary.get("neuron_share_negative_percentile")

    top_shares = breakdown(zip(frame["T1"], frame["T2"], frame["PT1"], frame["PT2"]))
    rand_shares = breakdown(pair_tokens(d.i, d.j, d.tokens, d.vocabulary))
    values = {
        27: {"share_function_case_number_punct": dominated_share(top_shares),
             **{f"top_{k.replace(' ', '_')}_share": v for k, v in top_shares.items()},
             **{f"random_{k.replace(' ', '_')}_share": v for k, v in rand_shares.items()},
             "top_dominated_share": dominated_share(top_shares), "random_dominated_share": dominated_share(rand_shares),
             "top_tokens": 2 * len(frame), "random_tokens": 2 * len(d.i)},
        28: {"share_negative_preactivation": negative_share_estimate(oi, d.i, d.j, pre, select["top_pairs"]),
             "negative_tokens": neg, "tokens": n_tok, "all_tokens_negative_share": float(np.mean(pre < 0)),
             "paper_negative_tokens": 19, "paper_tokens": 20, **layer_summary},
    }
    context = {"name": record["name"], "model_id": record["model_id"], "revision": record["revision"],
               "dataset": record["dataset"], "split": record["split"], "seed": record["seed"], "layer": layer,
               "matrix": record["matrix"], "neuron": neuron, "md_rank": rank, "neuron_choice": select["neuron"],
               "tokens": len(d.inputs), "pairs": len(d.i),
               "mean_input_distance_top": float(np.mean(dx[best])), "mean_input_distance_all": float(np.nanmean(dx)),
               "mean_output_distance_top": float(np.mean(dy[best])), "median_output_distance_all": float(np.nanmedian(dy))}
    return {"frame": frame, "table": table, "values": values, "context": context, "neuron": neuron, "rank": rank,
            "best": best, "pre": pre, "dx": dx, "dy": dy, "neg": neg, "n_tok": n_tok, "name": record["name"],
            "matrix": record["matrix"], "layer_shares": layer_shares["share"]}


def _plot(axes, a: dict, letters: str) -> None:
    frame, neuron, name = a["frame"], a["neuron"], a["name"]
    pair_token_table(axes[0], frame, f"({letters[0]}) {name}: top-{len(a['best'])} OI pairs, neuron {neuron}")
    ax = axes[1]
    output_histogram(ax, a["pre"], f"({letters[1]}) {a['matrix']} pre-activations: {a['neg']}/{a['n_tok']} pair "
                     f"tokens < 0", color=PALETTE["other"])
    for col, color, label in (("pre1", PALETTE["wasserstein"], "T1"), ("pre2", PALETTE["highlight"], "T2")):
        for k, v in enumerate(frame[col]):
            ax.axvline(v, color=color, lw=1.0, alpha=0.8, label=f"{label} tokens" if k == 0 else None)
    ax.legend(loc="upper right", fontsize="x-small")
    io_scatter(axes[2], a["dx"], a["dy"], f"({letters[2]}) IO relationship, neuron {neuron}", highlight=a["best"])
    axes[2].legend(loc="lower left", frameon=True)  # top pairs sit high: keep the legend off them
    ax = axes[3]
    shares = a["layer_shares"][np.isfinite(a["layer_shares"])]
    m = len(a["best"])
    ax.hist(shares, bins=np.linspace(-0.5 / (2 * m), 1 + 0.5 / (2 * m), 2 * m + 2), color=PALETTE["other"])
    ax.axvline(a["neg"] / a["n_tok"], color=PALETTE["wasserstein"], lw=1.5, label=f"neuron {neuron}")
    ax.axvline(0.9, color=PALETTE["highlight"], lw=1.0, ls="--", label="claim: ≥ 0.9")
    ax.set(xlabel=f"share of top-{m} pair tokens < 0", ylabel="neurons",
           title=f"({letters[3]}) the layer's {shares.size} neurons, same rule")
    ax.legend(loc="upper left", fontsize="x-small")


def main(top: str, md: str, pairs_path: str, inputs: str, outputs: str, tokens: str, vocabulary: str, layer: int,
         select: dict, record: dict, scale: str, png: str, pdf: str, csv: str, markdown: str, claims: str,
         gated_top: str | None = None, gated_md: str | None = None, gated_pairs_path: str | None = None,
         gated_inputs: str | None = None, gated_outputs: str | None = None, gated_tokens: str | None = None,
         gated_vocabulary: str | None = None, gated_select: dict | None = None,
         gated_record: dict | None = None) -> None:
    a = _analyse(top, md, pairs_path, inputs, outputs, tokens, vocabulary, layer, select, record)
    g = _analyse(gated_top, gated_md, gated_pairs_path, gated_inputs, gated_outputs, gated_tokens, gated_vocabulary,
                 layer, gated_select, gated_record) if gated_record else None
    write_table(pd.concat([a["table"]] + ([g["table"]] if g else []), ignore_index=True), csv, markdown)

    fig, axes = figure(2 if g else 1, 4, width=3.9, height=3.6)
    _plot(axes[0], a, "abcd")
    if g:
        _plot(axes[1], g, "efgh")
    what = f"entangled neuron {a['neuron']} (MD rank {a['rank']}) of {record['name']} layer {layer} " \
           f"{record['matrix']}-projection"
    if g:
        what += f" (a-d); neuron {g['neuron']} (MD rank {g['rank']}) of {gated_record['name']} gate projection (e-h)"
    caption(fig, "NC-F3", f"{what} ({scale} scale)")
    fig.tight_layout()
    save_figure(fig, png, pdf)
    write_claim_values(claims, "NC-F3", scale, a["values"],
                       context={**a["context"], **({"gated_model": g["name"], "gated_matrix": g["matrix"],
                                                    "gated_neuron": g["neuron"]} if g else {})},
                       by_model={g["name"]: g["values"]} if g else None)


if __name__ == "__main__":
    run(main)
