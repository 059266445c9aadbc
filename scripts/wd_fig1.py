"""WD-F1 / WD-FA8: a random and an entangled neuron at 90% sparsity: dense vs SparseGPT, dense vs Sparse Expansion,
and the expanded outputs coloured by expert; WD to N(0,1) and RI = RMSE(SparseGPT) / RMSE(Sparse Expansion)
printed on the panels."""

import json

import numpy as np
import pandas as pd
from _runner import run

from entangle.claims import write_claim_values
from entangle.disentangle.intervals import ri_wn_vs_other, separation_contrast
from entangle.disentangle.records import context
from entangle.io import save_figure, write_table
from entangle.plotting.style import PALETTE, caption, figure

ROLES = {"random": "random neuron {}", "entangled": "top-WD neuron {}"}


def main(neurons: str, samples: str, summary: str, item: str, scale: str, png: str, pdf: str, csv: str,
         markdown: str, claims: str) -> None:
    table = pd.read_csv(neurons)
    info = json.loads(open(summary).read())
    arrays = np.load(samples)
    k, s = info["num_clusters"], info["sparsity"]
    cols = {int(j): c for c, j in enumerate(arrays["neurons"])}
    first = context(table)

    rows = []
    fig, axes = figure(2, 3, width=3.4, height=2.6)
    for r, (role, label) in enumerate(ROLES.items()):
        n = info["neurons"][role]
        c = cols[n["neuron"]]
        dense, sgpt, se = arrays["dense"][:, c], arrays["k1"][:, c], arrays[f"k{k}"][:, c]
        labels = arrays[f"labels_k{k}"]
        bins = np.histogram_bin_edges(np.concatenate([dense, sgpt, se]), bins=60)
        for ax, sparse, name in ((axes[r, 0], sgpt, "SparseGPT"), (axes[r, 1], se, f"Sparse Expansion (K={k})")):
            ax.hist(dense, bins=bins, color=PALETTE["dense"], alpha=0.55, label="dense")
            ax.hist(sparse, bins=bins, color=PALETTE["sparse"], alpha=0.55, label=name)
            ax.set(xlabel="pre-activation", ylabel="tokens" if ax is axes[r, 0] else None)
            ax.legend(fontsize="x-small", loc="upper left")
        axes[r, 0].set_title(f"{label.format(n['neuron'])}: dense vs SparseGPT\nWD to N(0,1) = {n['wd']:.3f}")
        axes[r, 1].set_title(f"dense vs Sparse Expansion\nRI = {n['ri']:.2f} ({n['ri_percent']:.0f}%)")
        ax = axes[r, 2]
        order = np.argsort([se[labels == e].mean() if (labels == e).any() else np.inf for e in range(k)])
        ax.hist([se[labels == e] for e in order], bins=bins, stacked=True,
                color=[_cluster_colour(i, k) for i in range(k)], linewidth=0)
        ax.set(title=f"expanded output by expert\nseparation $\\eta^2$ = {n['expert_separation']:.2f}",
               xlabel="pre-activation")
        row = table.loc[table["neuron"] == n["neuron"]].iloc[0]
        rows.append({**first, "role": role, "neuron": n["neuron"], "wd": n["wd"],
                     "sparsity": s, "num_clusters": k, "rmse_sparsegpt": row["rmse_sparsegpt"],
                     "rmse_se": row["rmse_se"], "ri": n["ri"], "ri_percent": n["ri_percent"],
                     "expert_separation": n["expert_separation"]})
    caption(fig, item, f"{first['model']} layer {first['layer']} {first['matrix']}, {s:.0%} sparsity, "
            f"{first['split']} tokens ({scale} scale)")
    fig.tight_layout()
    save_figure(fig, png, pdf)

    out = pd.DataFrame(rows)
    write_table(out, csv, markdown)
    by = {r["role"]: r for r in rows}
    values = {**ri_wn_vs_other(table),  # claim 11: the WN population against the rest of the layer
              "ri_pct_entangled": by["entangled"]["ri_percent"], "ri_pct_random": by["random"]["ri_percent"],
              "wd_entangled": by["entangled"]["wd"], "wd_random": by["random"]["wd"]}
    ent, rnd = (cols[info["neurons"][role]["neuron"]] for role in ("entangled", "random"))
    separation = {"expert_separation_entangled_minus_random": separation_contrast(
                      arrays[f"k{k}"][:, ent], arrays[f"k{k}"][:, rnd], arrays[f"labels_k{k}"]),
                  "expert_separation_entangled": by["entangled"]["expert_separation"],
                  "expert_separation_random": by["random"]["expert_separation"]}
    write_claim_values(claims, item, scale, {11: values, 12: separation} if item == "WD-F1" else {11: values},
                       context={**first, "sparsity": s, "num_clusters": k})


def _cluster_colour(i: int, k: int):
    import matplotlib

    return matplotlib.colormaps["viridis"](i / max(k - 1, 1))


if __name__ == "__main__":
    run(main)
