"""WD-F2: a random and a Wasserstein neuron (output distribution, IO relationship); WD vs MD over the layer."""

import numpy as np
import pandas as pd
from _runner import run
from scipy.stats import spearmanr

from entangle.claims import write_claim_values
from entangle.io import load_matrix, save_figure, write_table
from entangle.metrics.mapping import io_scatter
from entangle.neurons.io_relationship import hard_pairs
from entangle.neurons.population import hard_pair_ratio, spearman
from entangle.neurons.selection import random_neurons, top_k
from entangle.plotting.neurons import io_scatter as io_panel
from entangle.plotting.neurons import output_histogram
from entangle.plotting.style import PALETTE, caption, figure


def main(stats: str, mapping: str, pairs: str, inputs: str, outputs: str, record: dict, layer: int, scale: str,
         png: str, pdf: str, csv: str, markdown: str, claims: str) -> None:
    table = pd.read_csv(stats).merge(pd.read_csv(mapping)[["neuron", "md"]], on="neuron")
    x, y = load_matrix(inputs), load_matrix(outputs)
    p = np.load(pairs)
    i, j = p["i"], p["j"]
    wd = table["wd"].to_numpy()
    alive = np.flatnonzero(np.isfinite(wd))
    top = top_k(wd, min(10, alive.size))
    rand = random_neurons(len(wd), min(10, alive.size), seed=record["seed"], exclude=np.setdiff1d(np.arange(len(wd)), alive))
    shown = {"random": int(rand[0]), "wasserstein": int(top[0])}
    neurons = np.concatenate([top, rand])
    hard = np.stack([hard_pairs(*io_scatter(x, y, i, j, n)) for n in neurons], axis=1)  # [pairs, 20]
    share = {n: float(np.nanmean(hard[:, c])) for c, n in enumerate(neurons)}
    ok = np.isfinite(table["wd"]) & np.isfinite(table["md"])
    rho, pval = spearmanr(table.loc[ok, "wd"], table.loc[ok, "md"])

    fig, axes = figure(2, 3, width=3.4, height=2.8)
    for row, (kind, neuron) in enumerate(shown.items()):
        color = PALETTE["random"] if kind == "random" else PALETTE["wasserstein"]
        output_histogram(axes[row, 0], y[:, neuron], f"({'ac'[row]}) {kind} neuron {neuron}: WD {wd[neuron]:.3f}",
                         color=color)
        din, dout = io_scatter(x, y, i, j, neuron)
        io_panel(axes[row, 1], din, dout, f"({'bd'[row]}) IO, neuron {neuron}: hard pairs {share[neuron]:.1%}")
    ax = axes[0, 2]
    ax.scatter(table["md"], table["wd"], s=5, alpha=0.5, color=PALETTE["other"], lw=0)
    ax.scatter(table.loc[top, "md"], table.loc[top, "wd"], s=14, color=PALETTE["wasserstein"], label="top-10 WD")
    ax.set(xlabel="mapping difficulty MD", ylabel="WD to N(0,1)", title=f"(e) WD vs MD, Spearman ρ = {rho:.2f}")
    ax.legend(loc="best", framealpha=0.9)
    axes[1, 2].set_axis_off()
    axes[1, 2].text(0, 0.5, f"model {record['name']} @ {record['revision']}\nlayer {layer}, up-projection\n"
                    f"{y.shape[0]:,} {record['split']} tokens, {len(i):,} pairs\n"
                    f"WD: {table['wd_method'].iloc[0]}\nhard pair: input < median,\n  output > 2 × median",
                    va="center", fontsize="small")
    caption(fig, "WD-F2", f"a random and a Wasserstein neuron ({scale} scale)")
    fig.tight_layout()
    save_figure(fig, png, pdf)

    out = table[["model", "revision", "split", "layer", "matrix", "neuron", "wd", "md", "tokens", "seed"]].copy()
    out["pairs"] = len(i)
    out["dataset"] = record["dataset"]
    write_table(out, csv, markdown)
    top_share, rand_share = np.mean([share[n] for n in top]), np.mean([share[n] for n in rand])
    write_claim_values(claims, "WD-F2", scale, {
        1: {"max_wd": np.nanmax(wd), "median_wd": np.nanmedian(wd), "max_over_median_wd": np.nanmax(wd) / np.nanmedian(wd)},
        2: {"spearman_wd_md": spearman(table["wd"], table["md"]), "spearman_p": pval, "neurons": int(ok.sum())},
        3: {"hard_pair_share_top10_wd": top_share, "hard_pair_share_random10": rand_share,
            "hard_pair_ratio": hard_pair_ratio(hard, np.arange(len(top)), np.arange(len(top), len(neurons)))},
    }, context={**record, "layer": layer, "tokens": y.shape[0], "pairs": len(i),
                "random_neuron": shown["random"], "wasserstein_neuron": shown["wasserstein"]})


if __name__ == "__main__":
    run(main)
