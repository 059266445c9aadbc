"""WD-F5: Sparse Expansion disentangles Wasserstein neurons.

(a) perplexity when only the top-p% WD rows of every FFN matrix are sparsified (row-wise SparseGPT), and when
those rows are expanded into K experts instead (the partial runs, rules/partial.smk); recovered fraction =
(ppl_sparsegpt - ppl_expanded) / (ppl_sparsegpt - ppl_dense) at the headline sparsity.
(b, c) for the Wasserstein neurons of the GELU model's analysis layer: WD to N(0,1) and mapping difficulty
before expansion (the dense neuron over all held-out tokens) vs after (the cluster-size-weighted mean over experts
of each expert's output on its own held-out tokens; MD with the neuron's global normalisers), with the controls
of claims 15 and 16: the same expert outputs in random clusters of the same sizes (judged), and (WD, shown beside,
not judged: the groups are split on WD itself) non-WN neurons.
(d, e) the same for the gated-FFN model (role `gated`), its analysis layer and the same matrix: table rows with its
name in column `model`, claims 15 and 16 under `by_model`.
"""

import json

import numpy as np
import pandas as pd
from _runner import run

from entangle.claims import write_claim_values
from entangle.disentangle.intervals import weighted_change
from entangle.disentangle.records import context
from entangle.evaluation.contrasts import recovered_fraction, window_contrast
from entangle.io import save_figure, write_table
from entangle.plotting.style import PALETTE, caption, figure
from entangle.sparsify.partial_report import run_window_nll


def _weighted_panels(axes, table: pd.DataFrame, info: dict, letters: tuple[str, str]) -> dict:
    """Panels (b, c) of one model's detail layer: weighted WD and MD of its WNs before vs after expansion, with
    the controls; returns claims 15 and 16's values by statistic (`wd`, `md`)."""
    wns = table[table["is_wn"].astype(bool)]
    name = context(table)["model"]
    values = {}
    controls = table[table["is_control"].astype(bool)] if "is_control" in table.columns else table.iloc[:0]
    for ax, stat, label, letter in ((axes[0], "wd", "WD to N(0,1)", letters[0]),
                                    (axes[1], "md", "mapping difficulty", letters[1])):
        before, after = wns[f"{stat}_before"].to_numpy(), wns[f"{stat}_after"].to_numpy()
        ok = np.isfinite(before) & np.isfinite(after)
        values[stat] = weighted_change(table, stat)
        share, median = values[stat][f"share_{stat}_decreased"].value, values[stat][f"median_{stat}_drop"].value
        if stat == "wd" and len(controls):  # the non-WN control, the same experts and clusters
            cb, ca = controls["wd_before"].to_numpy(), controls["wd_after"].to_numpy()
            ax.scatter(cb, ca, s=8, color=PALETTE["other"], alpha=0.5, lw=0,
                       label=f"non-WN control ({len(controls)}): median drop "
                             f"{values[stat]['median_wd_drop_non_wn']:.0%}")
        rand = wns[f"{stat}_after_random"].to_numpy() if f"{stat}_after_random" in wns.columns else None
        if rand is not None:
            ax.scatter(before[ok], rand[ok], s=12, marker="x", color=PALETTE["random"], alpha=0.8,
                       label=f"WNs, random clusters: median drop {values[stat][f'median_{stat}_drop_random_clusters'].value:.0%}")
        ax.scatter(before[ok], after[ok], s=14, color=PALETTE["wasserstein"], alpha=0.8,
                   label=f"WNs ({int(ok.sum())}), Sparse Expansion's clusters")
        shown = [before[ok], after[ok]] + ([rand[ok]] if rand is not None else [])
        lim = [np.nanmin(np.concatenate(shown)), np.nanmax(np.concatenate(shown))]
        ax.plot(lim, lim, "k--", lw=1, label="no change")
        ax.set(xlabel="before: dense neuron", ylabel=f"after: weighted over K={info['num_clusters']} experts",
               title=f"({letter}) {name} {label}: lower for {share:.0%}\nof WNs, median drop {median:.0%}")
        ax.legend(fontsize="xx-small", loc="best", framealpha=0.9)
    return values


def _weighted_rows(table: pd.DataFrame, info: dict, panels: tuple[str, str]) -> list[dict]:
    """Table rows of panels (b, c) or (d, e): every WN's WD and MD before and after, with the controls' variants."""
    wns = table[table["is_wn"].astype(bool)]
    layer = context(table)
    neuron_context = {key: layer[key] for key in ("model", "model_id", "revision", "dataset", "split", "tokens", "seed")}
    rows = []
    for stat, panel in zip(("wd", "md"), panels):
        for _, r in wns.iterrows():
            for when in ("before", "after", "after_dense", "after_random", "after_own"):
                if f"{stat}_{when}" not in wns.columns:
                    continue
                rows.append({"panel": panel, **neuron_context, "neuron": int(r["neuron"]), "method": f"se{info['num_clusters']}",
                             "sparsity": str(info["sparsity"]), "measure": f"{stat}_{when}", "value": r[f"{stat}_{when}"]})
    return rows


def main(partial: str, neurons: str, summary: str, headline: str, scale: str, png: str, pdf: str, csv: str,
         markdown: str, claims: str, gated_neurons: str | None = None, gated_summary: str | None = None) -> None:
    runs = json.loads(open(partial).read())
    table = pd.read_csv(neurons)
    info = json.loads(open(summary).read())
    wns = table[table["is_wn"].astype(bool)]
    layer = context(table)

    per = pd.DataFrame(runs["runs"])
    per["sparsity_value"] = per["sparsity"].astype(float)
    sgpt = per[per["method"] == "sparsegpt"].sort_values("sparsity_value")
    se = per[per["method"] == "sparse_expansion"].sort_values("sparsity_value")
    at = {m: float(frame.loc[frame["sparsity"] == headline, "ppl"].iloc[0]) for m, frame in
          (("sparsegpt", sgpt), ("sparse_expansion", se))}
    dense = runs["dense_ppl"]
    recovered = (at["sparsegpt"] - at["sparse_expansion"]) / (at["sparsegpt"] - dense)
    per_window = np.stack([run_window_nll(runs, None), run_window_nll(runs, "sparsegpt", headline),
                           run_window_nll(runs, "sparse_expansion", headline)])
    recovered_estimate = window_contrast(lambda p: recovered_fraction(p, 0, 1, 2), per_window)

    fig, axes = figure(2 if gated_neurons else 1, 3, width=3.8, height=3.2)
    ax = axes[0, 0]
    ax.plot(sgpt["sparsity_value"], sgpt["ppl"], "o-", color=PALETTE["sparse"], label="SparseGPT on WD rows")
    k = int(se["num_clusters"].iloc[0]) if len(se) else info["num_clusters"]
    ax.plot(se["sparsity_value"], se["ppl"], "s-", color=PALETTE["highlight"], label=f"Sparse Expansion (K={k})")
    ax.axhline(dense, ls="--", color=PALETTE["dense"], label="dense")
    ax.set(xlabel="per-row sparsity of the selected rows", ylabel=f"{runs['eval_split']} perplexity",
           title=f"(a) top-{runs['percent']:g}% WD rows, {runs['model']}\nrecovered {recovered:.0%} at {headline}")
    ax.legend(fontsize="x-small")

    values = _weighted_panels(axes[0, 1:], table, info, ("b", "c"))
    gated_values = None
    if gated_neurons:
        gtable, ginfo = pd.read_csv(gated_neurons), json.loads(open(gated_summary).read())
        axes[1, 0].set_visible(False)
        gated_values = _weighted_panels(axes[1, 1:], gtable, ginfo, ("d", "e"))
    text = (f"Sparse Expansion disentangles Wasserstein neurons ({scale} scale)\n(a): {runs['model']}; (b, c): "
            f"{layer['model']} layer {layer['layer']} {layer['matrix']}, {len(wns)} WNs")
    if gated_values:
        glayer = context(gtable)
        text += (f"; (d, e): {glayer['model']} layer {glayer['layer']} {glayer['matrix']}, "
                 f"{int(gtable['is_wn'].astype(bool).sum())} WNs")
    caption(fig, "WD-F5", f"{text}; {info['sparsity']:.0%} per expert")
    fig.tight_layout()
    save_figure(fig, png, pdf)

    run_context = {"model": runs["model"], "model_id": runs["model_id"], "revision": runs["revision"],
                   "dataset": runs["dataset"], "split": runs["eval_split"], "tokens": runs["eval_tokens"],
                   "seed": runs["seed"]}
    rows = [{"panel": "a", **run_context, "neuron": np.nan, "method": "dense", "sparsity": "0", "measure": "perplexity",
             "value": dense}]
    rows += [{"panel": "a", **run_context, "neuron": np.nan, "method": r["method"], "sparsity": r["sparsity"],
              "measure": "perplexity", "value": r["ppl"]} for r in runs["runs"]]
    rows += _weighted_rows(table, info, ("b", "c"))
    if gated_values:
        rows += _weighted_rows(gtable, ginfo, ("d", "e"))
    write_table(pd.DataFrame(rows), csv, markdown)
    run_context_all = {"partial": run_context, "layer": layer, "wn_percent": info["wn_percent"],
                       "num_clusters": info["num_clusters"], "sparsity": info["sparsity"]}
    by_model = None
    if gated_values:
        glayer = context(gtable)
        run_context_all["gated_layer"] = glayer
        by_model = {glayer["model"]: {15: {"model": glayer["model"], **gated_values["wd"]},
                                      16: {"model": glayer["model"], **gated_values["md"]}}}
    write_claim_values(claims, "WD-F5", scale, {
        14: {"model": runs["model"], "recovered_fraction": recovered_estimate, "recovered_fraction_json_ppl": recovered, "ppl_dense": dense,
             "ppl_wd_sparsegpt": at["sparsegpt"],
             "ppl_wd_expanded": at["sparse_expansion"], "sparsity": headline},
        15: {"model": layer["model"], **values["wd"]}, 16: {"model": layer["model"], **values["md"]}},
        context=run_context_all, by_model=by_model)


if __name__ == "__main__":
    run(main)
