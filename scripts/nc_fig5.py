"""NC-F5: the top OI token pairs of further entangled neurons of the layer (T1, T2, NT1, NT2), and how the
tokens of top-OI pairs split into function words, case variants, numbers, punctuation and other (claim 27)."""

import logging

import numpy as np
import pandas as pd
from _runner import run

from entangle.claims import write_claim_values
from entangle.io import save_figure, write_table
from entangle.pairs.neuron_pairs import (item_neurons, load_layer_item, md_rank, neuron_top_pairs, pair_table,
                                         pair_tokens)
from entangle.plotting.neurons import pair_token_table
from entangle.plotting.style import PALETTE, caption, figure
from entangle.tokens import CATEGORIES, breakdown, dominated_share, enrichment, is_case_variant, is_same_word

PAPER_NEURONS = [5224, 7723, 1168, 851]


def _analyse(top: str, md: str, pairs_path: str, inputs: str, outputs: str, tokens: str, vocabulary: str,
             layer: int, select: dict, record: dict) -> dict:
    """One model's NC-F5: pair tables per neuron, token categories, table rows and claim values."""
    d = load_layer_item(top, md, pairs_path, inputs, outputs, tokens, vocabulary)
    f3, neurons, _ = item_neurons(d.md, select["neuron"], select["table_neurons"], select["scatter_neurons"], layer=layer)
    ranks = md_rank(d.md, neurons)
    pre = np.asarray(d.outputs[:, neurons], dtype=np.float64)
    oi, best, dx, dy = neuron_top_pairs(d.inputs, d.outputs, d.i, d.j, neurons, select["table_pairs"])
    frames = []
    for c, n in enumerate(neurons):  # assembling the table rows of each neuron
        f = pair_table(n, best[c], oi[:, c], d.i, d.j, pre[:, c], dx, dy[:, c], d.tokens, d.vocabulary)
        f.insert(1, "md", d.md[n])
        f.insert(2, "md_rank", ranks[c])
        frames.append(f)
    frame = pd.concat(frames, ignore_index=True)
    logging.info("NC-F5 pairs of %s:\n%s", record["name"], frame[["neuron", "T1", "T2", "NT1", "NT2", "oi_ratio"]])

    table = frame.copy()
    table.insert(0, "model", record["name"])
    for k in ("model_id", "revision", "dataset", "split", "matrix"):
        table[k] = record[k]
    table["layer"] = layer
    table["tokens"], table["pairs"], table["seed"] = len(d.inputs), len(d.i), record["seed"]

    lp = d.layer_pairs
    pool_pairs = pair_tokens(d.i[lp.pool], d.j[lp.pool], d.tokens, d.vocabulary)
    sets = {
        "table": (f"top-{select['table_pairs']} OI pairs of the {len(neurons)} neurons above",
                  list(zip(frame["T1"], frame["T2"], frame["PT1"], frame["PT2"]))),
        "layer_pool": (f"layer {layer}'s {lp.pool.size} top pairs (top-{lp.top.shape[1]} OI pairs of its "
                       f"top-{lp.top.shape[0]} MD neurons)", pool_pairs),
        "random": (f"all {len(d.i):,} random pairs", pair_tokens(d.i, d.j, d.tokens, d.vocabulary)),
    }
    shares = {k: breakdown(pairs) for k, (_, pairs) in sets.items()}
    rows = []
    for k, (what, pairs) in sets.items():
        for c in CATEGORIES:
            rows.append({"set": k, "description": what, "category": c, "set_tokens": 2 * len(pairs), "share": shares[k][c]})
        rows.append({"set": k, "description": what, "category": "dominated (not other)", "set_tokens": 2 * len(pairs),
                     "share": dominated_share(shares[k])})
        rows.append({"set": k, "description": what, "category": "same-word pairs (pair share)", "set_tokens": 2 * len(pairs),
                     "share": float(np.mean([is_same_word(a, b) for a, b, *_ in pairs])) if pairs else np.nan})
    cats = pd.DataFrame(rows)
    cats.insert(0, "model", record["name"])
    for k in ("model_id", "revision", "dataset", "split", "matrix"):
        cats[k] = record[k]
    cats["layer"], cats["tokens"], cats["pairs"], cats["seed"] = layer, len(d.inputs), len(d.i), record["seed"]

    case = [is_case_variant(a, b) for a, b, *_ in sets["layer_pool"][1]]
    values = {
        27: {"share_function_case_number_punct": dominated_share(shares["layer_pool"]),
             **{f"{k}_{c.replace(' ', '_')}_share": shares[k][c] for k in sets for c in CATEGORIES},
             **{f"{k}_dominated_share": dominated_share(shares[k]) for k in sets},
             "layer_pool_case_variant_pairs": int(np.sum(case)), "layer_pool_pairs": len(case),
             "table_over_random_dominated": dominated_share(shares["table"]) / dominated_share(shares["random"])
             if dominated_share(shares["random"]) > 0 else None,
             "layer_pool_over_random_dominated": enrichment(sets["layer_pool"][1], sets["random"][1])},
    }
    context = {"name": record["name"], "model_id": record["model_id"], "revision": record["revision"],
               "dataset": record["dataset"], "split": record["split"], "seed": record["seed"], "layer": layer,
               "matrix": record["matrix"], "neurons": neurons, "md_ranks": ranks, "nc_f3_neuron": f3,
               "paper_neurons": PAPER_NEURONS, "table_pairs": select["table_pairs"], "tokens": len(d.inputs),
               "pairs": len(d.i)}
    return {"table": table, "cats": cats, "values": values, "context": context, "frames": frames,
            "neurons": neurons, "ranks": ranks, "shares": shares, "pool": lp.pool.size, "name": record["name"],
            "matrix": record["matrix"]}


def _plot(axes, a: dict) -> None:
    """Token tables of each neuron in the left columns, the category shares in the right column's first cell."""
    neurons, ranks, shares = a["neurons"], a["ranks"], a["shares"]
    for c, ax in enumerate(axes[:, :-1].flat):
        if c < len(neurons):
            pair_token_table(ax, a["frames"][c],
                             f"{a['name']} {a['matrix']}: neuron {neurons[c]} (MD rank {ranks[c]})", rank=False,
                             next_labels=("N1", "N2"), row_height=1.3, title_size="medium")
        else:
            ax.set_axis_off()
    ax = axes[0, -1]
    x = np.arange(len(CATEGORIES))
    width = 0.27
    for s, (k, color) in enumerate((("table", PALETTE["wasserstein"]), ("layer_pool", PALETTE["highlight"]),
                                    ("random", PALETTE["random"]))):
        ax.bar(x + (s - 1) * width, [shares[k][c] for c in CATEGORIES], width, color=color,
               label={"table": "pairs in tables", "layer_pool": f"layer pool ({a['pool']})",
                      "random": "random pairs"}[k])
    ax.set_xticks(x, [c.replace(" ", "\n", 1) for c in CATEGORIES], fontsize="x-small")
    ax.set(ylabel="share of tokens", title=f"{a['name']}: token categories")
    ax.legend(fontsize="x-small")
    for ax in axes[1:, -1]:
        ax.set_axis_off()


def main(top: str, md: str, pairs_path: str, inputs: str, outputs: str, tokens: str, vocabulary: str, layer: int,
         select: dict, record: dict, scale: str, png: str, pdf: str, csv: str, markdown: str, claims: str,
         categories_csv: str, categories_markdown: str, gated_top: str | None = None, gated_md: str | None = None,
         gated_pairs_path: str | None = None, gated_inputs: str | None = None, gated_outputs: str | None = None,
         gated_tokens: str | None = None, gated_vocabulary: str | None = None, gated_select: dict | None = None,
         gated_record: dict | None = None) -> None:
    a = _analyse(top, md, pairs_path, inputs, outputs, tokens, vocabulary, layer, select, record)
    g = _analyse(gated_top, gated_md, gated_pairs_path, gated_inputs, gated_outputs, gated_tokens, gated_vocabulary,
                 layer, gated_select, gated_record) if gated_record else None
    both = [a] + ([g] if g else [])
    write_table(pd.concat([m["table"] for m in both], ignore_index=True), csv, markdown)
    write_table(pd.concat([m["cats"] for m in both], ignore_index=True), categories_csv, categories_markdown)

    n = max(len(m["neurons"]) for m in both)
    ncols = min(n, 2) + 1
    per = [max(1, int(np.ceil(len(m["neurons"]) / (ncols - 1)))) if m["neurons"] else 1 for m in both]
    fig, axes = figure(sum(per), ncols, width=3.6, height=0.3 * select["table_pairs"] + 1.3)
    _plot(axes[:per[0]], a)
    if g:
        _plot(axes[per[0]:], g)
    models = f"{record['name']} layer {layer}" + (
        f" ({record['matrix']}-projection, first rows) and {gated_record['name']} (gate projection, last rows)"
        if g else "")
    caption(fig, "NC-F5", f"top OI pairs of entangled neurons, {models} ({scale} scale)")
    fig.tight_layout()
    save_figure(fig, png, pdf)
    write_claim_values(claims, "NC-F5", scale, a["values"],
                       context={**a["context"], **({"gated_model": g["name"], "gated_matrix": g["matrix"],
                                                    "gated_neurons": g["context"]["neurons"]} if g else {})},
                       by_model={g["name"]: g["values"]} if g else None)


if __name__ == "__main__":
    run(main)
