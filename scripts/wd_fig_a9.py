"""WD-FA9: as SparseGPT removes more of a high-WD neuron's weights, its standardized output drifts toward N(0,1).

Detail layer of the GELU model; the configured neuron (disentangle.neuron: an index, or the layer's top-WD
neuron). Its held-out SparseGPT outputs at each sweep sparsity, each z-scored by its own mean and std,
against the N(0,1) density (a); WD to N(0,1) over the sweep for it and for the median Wasserstein neuron (b).
Claim 10 is judged on the population of Wasserstein neurons (each one's own WD ratio over the sweep, and the
slope of its WD on its output change, which weighs the sparsities where SparseGPT changes the output).
"""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from _runner import run
from matplotlib.transforms import blended_transform_factory
from scipy import stats

from entangle.claims import write_claim_values
from entangle.disentangle.intervals import sweep_population
from entangle.disentangle.predictors import standardize, sweep_trend
from entangle.disentangle.records import CONTEXT
from entangle.io import read_json, save_figure, write_table
from entangle.plotting.style import PALETTE, caption, figure


def main(samples: str, summary: str, neurons: str, shown: list, scale: str, png: str, pdf: str, csv: str,
         markdown: str, claims: str) -> None:
    info = read_json(summary)
    record = {k: info[k] for k in CONTEXT if k in info}
    neuron = int(info["sample_neurons"]["chosen"])
    data = np.load(samples)
    sweep = np.asarray(data["sweep"], dtype=np.float64)
    column = list(np.asarray(data["neurons"]).tolist()).index(neuron)
    outputs = np.asarray(data["sweep_outputs"][:, :, column], dtype=np.float64)  # [S, T]
    wd = np.asarray(info["sweep"]["wd"][str(neuron)], dtype=np.float64)
    wd_wn = np.asarray(info["sweep"]["wd_median_wn"], dtype=np.float64)
    if not np.allclose(sweep, info["sweep"]["sparsity"]):
        raise ValueError(f"samples.npz sweep {sweep.tolist()} differs from summary.json {info['sweep']['sparsity']}")
    trend, trend_wn = sweep_trend(sweep, wd), sweep_trend(sweep, wd_wn)
    top = neuron == int(info["sample_neurons"]["entangled"])
    picks = [i for i, s in enumerate(sweep) if any(np.isclose(s, v) for v in shown)]

    fig, axes = figure(1, 2, width=4.5, height=3.6)
    ax = axes[0, 0]
    z = [standardize(outputs[i]) for i in range(len(sweep))]
    lo = max(-5.0, min(np.nanpercentile(z[i], 0.1) for i in picks))
    hi = min(6.0, max(np.nanpercentile(z[i], 99.9) for i in picks))
    edges = np.linspace(lo, hi, 49)
    grid = np.linspace(lo, hi, 300)
    gauss = stats.norm.pdf(grid)
    height = max(max(np.histogram(z[i], edges, density=True)[0].max() for i in picks), gauss.max())
    step = 0.8 * height  # ridges: one row per sparsity, dense at the top
    label_at = blended_transform_factory(ax.transAxes, ax.transData)  # labels right of the axes
    colors = plt.get_cmap("plasma")(np.linspace(0.0, 0.8, len(picks)))
    for row, (color, i) in enumerate(zip(colors, picks)):
        base = (len(picks) - 1 - row) * step
        dens, _ = np.histogram(z[i], edges, density=True)
        ax.fill_between(edges, base, base + np.append(dens, dens[-1]), step="post", color=color, alpha=0.55, lw=0)
        ax.plot(grid, base + gauss, "k--", lw=0.9, label="N(0,1)" if row == 0 else None)
        name = "dense" if sweep[i] == 0 else f"{sweep[i]:.0%} sparse"
        ax.text(1.02, base + 0.3 * step, f"{name}\nWD {wd[i]:.3f}", transform=label_at, ha="left", va="center",
                fontsize="x-small")
    ax.set_yticks([])
    ax.set(xlabel="standardized output (own mean and std)", ylabel="density (rows offset)", xlim=(lo, hi),
           title=f"(a) neuron {neuron}{' (top WD)' if top else ''} under SparseGPT")
    ax.legend(loc="upper left", fontsize="x-small", framealpha=0.9)
    ax = axes[0, 1]
    ax.plot(sweep, wd, "o-", color=PALETTE["wasserstein"],
            label=f"neuron {neuron} (Spearman ρ = {trend['spearman_sparsity_wd']:.2f})")
    ax.plot(sweep, wd_wn, "s--", color=PALETTE["other"],
            label=f"median of {info['wn_count']} WNs (ρ = {trend_wn['spearman_sparsity_wd']:.2f})")
    ax.set(xlabel="SparseGPT sparsity of the layer", ylabel="WD to N(0,1)",
           title="(b) WD to N(0,1) vs sparsity", ylim=(0, None))
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
    ax.legend(fontsize="x-small", framealpha=0.9, loc="lower left")
    caption(fig, "WD-FA9", f"a Wasserstein neuron's output as SparseGPT sparsity rises, {record['model']} layer "
            f"{record['layer']} {record['matrix']}-projection, {outputs.shape[1]:,} {record['split']} tokens "
            f"({scale} scale)")
    fig.tight_layout()
    save_figure(fig, png, pdf)

    out = pd.DataFrame({"sparsity": sweep, "neuron": neuron, "wd": wd, "wd_median_wn": wd_wn,
                        "skewness": [stats.skew(v) for v in outputs],
                        "excess_kurtosis": [stats.kurtosis(v) for v in outputs],
                        "shown": [i in picks for i in range(len(sweep))], "wn_count": info["wn_count"]})
    out = pd.concat([pd.DataFrame([record] * len(out)), out], axis=1)
    write_table(out, csv, markdown)
    population = sweep_population(pd.read_csv(neurons))  # claim 10: every WN's own trend, medians with intervals
    write_claim_values(claims, "WD-FA9", scale, {10: {
        **population, "neuron": neuron, "neuron_is_top_wd": top, **trend,
        **{f"median_curve_{k}": v for k, v in trend_wn.items()}}},
        context={**record, "sweep": sweep.tolist(), "wn_percent": info["wn_percent"], "wn_count": info["wn_count"],
                 "wd": "exact, standardized (ddof=0) SparseGPT output vs N(0,1)",
                 "output_change": "RMSE of a WN's SparseGPT output to its dense output over the dense std, per sweep "
                                  "sparsity; claim 10's slope is WD on it, per WN (least squares)"})


if __name__ == "__main__":
    run(main)
