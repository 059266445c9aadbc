"""WD-F2: a random and a Wasserstein neuron (output distribution, IO relationship); WD vs MD over the layer.

With a gated-FFN model (role `gated`), the same analysis of its gate projection (the matrix its SiLU acts
on) in a second pair of figure rows, table rows (column `model`) and claims under `by_model`.
"""

import numpy as np
import pandas as pd
from _runner import run
from scipy.stats import spearmanr

from entangle.claims import write_claim_values
from entangle.io import load_matrix, save_figure, write_table
from entangle.metrics.mapping import io_distances
from entangle.neurons.io_relationship import hard_pairs
from entangle.neurons.population import hard_pair_ratio, spearman
from entangle.neurons.selection import random_neurons, top_k
from entangle.plotting.neurons import io_scatter
from entangle.plotting.neurons import output_histogram
from entangle.plotting.style import PALETTE, caption, figure

MATRIX_NAME = {"up": "up-projection", "gate": "gate projection"}


def _analyse(stats: str, mapping: str, pairs: str, inputs: str, outputs: str, seed: int) -> dict:
    """WD and MD per neuron, the hard-pair shares of the top-10 WD and 10 random neurons, Spearman(WD, MD)."""
    table = pd.read_csv(stats).merge(pd.read_csv(mapping)[["neuron", "md"]], on="neuron")
    x, y = load_matrix(inputs), load_matrix(outputs)
    p = np.load(pairs)
    i, j = p["i"], p["j"]
    wd = table["wd"].to_numpy()
    alive = np.flatnonzero(np.isfinite(wd))
    top = top_k(wd, min(10, alive.size))
    rand = random_neurons(len(wd), min(10, alive.size), seed=seed, exclude=np.setdiff1d(np.arange(len(wd)), alive))
    neurons = np.concatenate([top, rand])
    hard = np.stack([hard_pairs(*io_distances(x, y, i, j, n)) for n in neurons], axis=1)  # [pairs, 20]
    share = {n: float(np.nanmean(hard[:, c])) for c, n in enumerate(neurons)}
    ok = np.isfinite(table["wd"]) & np.isfinite(table["md"])
    rho, pval = spearmanr(table.loc[ok, "wd"], table.loc[ok, "md"])
    return {"table": table, "x": x, "y": y, "i": i, "j": j, "wd": wd, "top": top, "rand": rand, "hard": hard,
            "share": share, "ok": ok, "rho": rho, "pval": pval,
            "shown": {"random": int(rand[0]), "wasserstein": int(top[0])}}


def _panels(axes, a: dict, record: dict, layer: int, letters: str) -> None:
    """Rows of (histogram, IO scatter) for the random and the Wasserstein neuron, WD vs MD, and the setting."""
    table, wd, x, y = a["table"], a["wd"], a["x"], a["y"]
    matrix = MATRIX_NAME.get(table["matrix"].iloc[0], table["matrix"].iloc[0])
    for row, (kind, neuron) in enumerate(a["shown"].items()):
        color = PALETTE["random"] if kind == "random" else PALETTE["wasserstein"]
        output_histogram(axes[row, 0], y[:, neuron], f"({letters[2 * row]}) {record['name']}, {kind} neuron "
                         f"{neuron}: WD {wd[neuron]:.3f}", color=color)
        din, dout = io_distances(x, y, a["i"], a["j"], neuron)
        io_scatter(axes[row, 1], din, dout, f"({letters[2 * row + 1]}) IO, neuron {neuron}: hard pairs "
                 f"{a['share'][neuron]:.1%}")
    ax = axes[0, 2]
    ax.scatter(table["md"], table["wd"], s=5, alpha=0.5, color=PALETTE["other"], lw=0)
    ax.scatter(table.loc[a["top"], "md"], table.loc[a["top"], "wd"], s=14, color=PALETTE["wasserstein"],
               label="top-10 WD")
    ax.set(xlabel="mapping difficulty MD", ylabel="WD to N(0,1)",
           title=f"({letters[4]}) {record['name']}: WD vs MD, Spearman ρ = {a['rho']:.2f}")
    ax.legend(loc="best", framealpha=0.9)
    axes[1, 2].set_axis_off()
    axes[1, 2].text(0, 0.5, f"model {record['name']} @ {record['revision']}\nlayer {layer}, {matrix}\n"
                    f"{y.shape[0]:,} {record['split']} tokens, {len(a['i']):,} pairs\n"
                    f"WD: {table['wd_method'].iloc[0]}\nhard pair: input < median,\n  output > 2 × median",
                    va="center", fontsize="small")


def _claims(a: dict) -> dict:
    wd, table, share, top, rand = a["wd"], a["table"], a["share"], a["top"], a["rand"]
    top_share, rand_share = np.mean([share[n] for n in top]), np.mean([share[n] for n in rand])
    return {
        1: {"max_wd": np.nanmax(wd), "median_wd": np.nanmedian(wd), "max_over_median_wd": np.nanmax(wd) / np.nanmedian(wd)},
        2: {"spearman_wd_md": spearman(table["wd"], table["md"]), "spearman_p": a["pval"], "neurons": int(a["ok"].sum())},
        3: {"hard_pair_share_top10_wd": top_share, "hard_pair_share_random10": rand_share,
            "hard_pair_ratio": hard_pair_ratio(a["hard"], np.arange(len(top)), np.arange(len(top), len(top) + len(rand)))},
    }


def _rows(a: dict, record: dict) -> pd.DataFrame:
    out = a["table"][["model", "revision", "split", "layer", "matrix", "neuron", "wd", "md", "tokens", "seed"]].copy()
    out["pairs"] = len(a["i"])
    out["dataset"] = record["dataset"]
    return out


def main(stats: str, mapping: str, pairs: str, inputs: str, outputs: str, record: dict, layer: int, scale: str,
         png: str, pdf: str, csv: str, markdown: str, claims: str, gated_record: dict | None = None,
         gated_stats: str | None = None, gated_mapping: str | None = None, gated_pairs: str | None = None,
         gated_inputs: str | None = None, gated_outputs: str | None = None) -> None:
    a = _analyse(stats, mapping, pairs, inputs, outputs, record["seed"])
    g = _analyse(gated_stats, gated_mapping, gated_pairs, gated_inputs, gated_outputs, record["seed"]) \
        if gated_record else None

    fig, axes = figure(4 if g else 2, 3, width=3.4, height=2.8)
    _panels(axes[:2], a, record, layer, "abcde")
    if g:
        _panels(axes[2:], g, gated_record, layer, "fghij")
    models = record["name"] + (f" (up-projection, rows a-e) and {gated_record['name']} (gate projection, rows f-j)"
                               if g else "")
    caption(fig, "WD-F2", f"a random and a Wasserstein neuron, {models} ({scale} scale)")
    fig.tight_layout()
    save_figure(fig, png, pdf)

    write_table(pd.concat([_rows(a, record)] + ([_rows(g, gated_record)] if g else []), ignore_index=True),
                csv, markdown)
    context = {**record, "layer": layer, "tokens": a["y"].shape[0], "pairs": len(a["i"]),
               "random_neuron": a["shown"]["random"], "wasserstein_neuron": a["shown"]["wasserstein"]}
    if g:
        context.update(gated_model=gated_record["name"], gated_matrix="gate",
                       gated_random_neuron=g["shown"]["random"], gated_wasserstein_neuron=g["shown"]["wasserstein"])
    write_claim_values(claims, "WD-F2", scale, _claims(a), context=context,
                       by_model={gated_record["name"]: _claims(g)} if g else None)


if __name__ == "__main__":
    run(main)
