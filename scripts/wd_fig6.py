"""WD-F6: one high-WD neuron at K = 1, 2, 4, 8, 16 experts (K=1 is SparseGPT): dense vs Sparse Expansion output,
WD(sparse, dense) in dense-std units and RI = RMSE(K=1) / RMSE(K) per K; the layer's median RI per K beside it.

Each K > 1 is fitted with `disentangle.router_seeds` router seeds: the curves are the means over seeds (each
seed's value shown), the histograms the first seed's. With a gated-FFN model (role `gated`), the same for its
detail layer's chosen neuron (the same matrix) in further figure rows, table rows (column `model`) and claim 13
under `by_model`."""

import json

import numpy as np
import pandas as pd
from _runner import run

from entangle.claims import write_claim_values
from entangle.disentangle.intervals import k_sweep_steps
from entangle.disentangle.measures import wd_between
from entangle.disentangle.records import context
from entangle.io import save_figure, write_table
from entangle.plotting.style import PALETTE, caption, figure

NCOLS = 3


def _analyse(neurons: str, samples: str, summary: str) -> dict:
    """The chosen neuron's outputs per K and router seed, its WD to dense and RI per K, the layer's median RI."""
    table = pd.read_csv(neurons)
    info = json.loads(open(summary).read())
    arrays = np.load(samples)
    n = info["neurons"]["chosen"]
    c = [int(j) for j in arrays["neurons"]].index(n["neuron"])
    ks = info["ks"]
    dense = arrays["dense"][:, c]
    # per K: this neuron's outputs under each router seed [seeds, T] (K = 1, SparseGPT, has one fit)
    by_seed = [arrays[f"k{k}_seeds"][:, :, c] if f"k{k}_seeds" in arrays else arrays[f"k{k}"][None, :, c]
               for k in ks]
    rmse1 = float(np.sqrt(((arrays[f"k{ks[0]}"][:, c].astype(np.float64) - dense) ** 2).mean()))
    wd_seeds = [[wd_between(o, dense) for o in outs] for outs in by_seed]
    ri_seeds = [[rmse1 / float(np.sqrt(((o.astype(np.float64) - dense) ** 2).mean())) for o in outs]
                for outs in by_seed]
    wd, ri = [float(np.mean(v)) for v in wd_seeds], [float(np.mean(v)) for v in ri_seeds]
    layer_ri = [float((table["rmse_sparsegpt"] / table[f"rmse_k{k}"]).median()) for k in ks]
    first = context(table)
    steps = k_sweep_steps(dense, by_seed)  # claim 13: router seeds, then held-out tokens redrawn
    values = {**steps,
              "wd_monotone_decreasing": bool(np.all(np.diff(wd) < 0)), "ri_monotone_increasing": bool(np.all(np.diff(ri) > 0)),
              "layer_ri_monotone_increasing": bool(np.all(np.diff(layer_ri) > 0)),
              **{f"wd_k{k}": w for k, w in zip(ks, wd)}, **{f"ri_k{k}": r for k, r in zip(ks, ri)}}
    return {"info": info, "n": n, "ks": ks, "dense": dense, "sparse": {k: arrays[f"k{k}"][:, c] for k in ks},
            "wd": wd, "ri": ri, "wd_seeds": wd_seeds, "ri_seeds": ri_seeds, "layer_ri": layer_ri, "first": first,
            "values": values}


def _panels(axes, a: dict) -> None:
    """Histograms per K, then the WD / RI curves, over the flat `axes` (len(ks) + 1 used, the rest hidden)."""
    ks, dense, wd, ri, first = a["ks"], a["dense"], a["wd"], a["ri"], a["first"]
    name = f"{first['model']} n{a['n']['neuron']}"
    bins = np.histogram_bin_edges(np.concatenate([dense] + [a["sparse"][k] for k in ks]), bins=50)
    for ax, k, w, r in zip(axes, ks, wd, ri):
        ax.hist(dense, bins=bins, color=PALETTE["dense"], alpha=0.55, label="dense")
        ax.hist(a["sparse"][k], bins=bins, color=PALETTE["sparse"], alpha=0.55, label="Sparse Expansion")
        ax.set(title=f"{name}: {k} cluster{'s' if k > 1 else ''}\nWD {w:.2f}, RI {r:.2f}", xlabel="pre-activation")
    axes[0].set_ylabel("tokens")
    axes[0].legend(fontsize="x-small", loc="upper left")
    for spare in axes[len(ks) + 1 :]:
        spare.set_visible(False)
    ax = axes[len(ks)]
    ax.plot(ks, wd, "o-", color=PALETTE["sparse"], label=f"WD(SE, dense), mean of {max(map(len, a['wd_seeds']))} seeds")
    for k, v in zip(ks, a["wd_seeds"]):
        ax.scatter([k] * len(v), v, s=8, color=PALETTE["sparse"], alpha=0.5, lw=0)
    ax.set(xscale="log", xticks=ks, xticklabels=[str(k) for k in ks], xlabel="experts K", ylabel="WD to dense (std units)",
           title=name)
    ax2 = ax.twinx()
    ax2.plot(ks, ri, "s--", color=PALETTE["dense"], label="RI (this neuron)")
    for k, v in zip(ks, a["ri_seeds"]):
        ax2.scatter([k] * len(v), v, s=8, marker="s", color=PALETTE["dense"], alpha=0.5, lw=0)
    ax2.plot(ks, a["layer_ri"], ":", color=PALETTE["random"], label="RI (layer median)")
    ax2.set_ylabel("RI")
    ax2.grid(False)
    lines = ax.get_legend_handles_labels()[0] + ax2.get_legend_handles_labels()[0]
    ax.legend(lines, [h.get_label() for h in lines], fontsize="x-small", loc="upper center",
              bbox_to_anchor=(0.5, -0.38), ncol=2)


def _describe(a: dict) -> str:
    f, n = a["first"], a["n"]
    return f"{f['model']} layer {f['layer']} {f['matrix']} neuron {n['neuron']} (WD {n['wd']:.2f})"


def _rows(a: dict) -> pd.DataFrame:
    return pd.DataFrame([{**a["first"], "neuron": a["n"]["neuron"], "sparsity": a["info"]["sparsity"], "k": k,
                          "router_seeds": len(ws), "wd_to_dense": w, "wd_to_dense_seed_min": min(ws),
                          "wd_to_dense_seed_max": max(ws), "ri": r, "ri_seed_min": min(rs), "ri_seed_max": max(rs),
                          "ri_layer_median": m}
                         for k, w, r, m, ws, rs in zip(a["ks"], a["wd"], a["ri"], a["layer_ri"], a["wd_seeds"],
                                                       a["ri_seeds"])])


def main(neurons: str, samples: str, summary: str, scale: str, png: str, pdf: str, csv: str, markdown: str,
         claims: str, gated_neurons: str | None = None, gated_samples: str | None = None,
         gated_summary: str | None = None) -> None:
    a = _analyse(neurons, samples, summary)
    g = _analyse(gated_neurons, gated_samples, gated_summary) if gated_neurons else None
    shown = [x for x in (a, g) if x]
    rows = [-(-(len(x["ks"]) + 1) // NCOLS) for x in shown]
    fig, axes = figure(sum(rows), NCOLS, width=3.2, height=2.6)
    start = 0
    for x, r in zip(shown, rows):
        _panels(axes[start : start + r].reshape(-1), x)
        start += r
    info = a["info"]
    models = _describe(a) + (f" (first {rows[0]} rows) and {_describe(g)} (last {rows[1]} rows)" if g else "")
    seeds = " and ".join(f"{max(map(len, x['wd_seeds']))} ({x['first']['model']})" for x in shown)
    caption(fig, "WD-F6", f"{models}, {info['sparsity']:.0%} sparsity per expert; histograms: the first router seed, "
            f"WD and RI: means over router seeds, {seeds} ({scale} scale)")
    fig.tight_layout()
    save_figure(fig, png, pdf)

    write_table(pd.concat([_rows(x) for x in shown], ignore_index=True), csv, markdown)
    ctx = {**a["first"], "neuron": a["n"]["neuron"], "sparsity": info["sparsity"]}
    if g:
        ctx.update(gated_model=g["first"]["model"], gated_layer=g["first"]["layer"],
                   gated_matrix=g["first"]["matrix"], gated_neuron=g["n"]["neuron"])
    write_claim_values(claims, "WD-F6", scale, {13: a["values"]}, context=ctx,
                       by_model={g["first"]["model"]: {13: g["values"]}} if g else None)


if __name__ == "__main__":
    run(main)
