"""WD-FA1: Wasserstein neurons in every FFN linear layer: WD distributions per layer and matrix (up, gate, down),
each layer's top-WD vs median up-projection neuron; claim 1 against a Gaussian-sample baseline."""

import numpy as np
import pandas as pd
from _runner import run
from matplotlib import pyplot as plt

from entangle.claims import write_claim_values
from entangle.io import load_matrix, save_figure, write_table
from entangle.neurons.population import every_matrix_excess
from entangle.neurons.selection import median_neurons, top_k
from entangle.plotting.neurons import wd_distributions
from entangle.plotting.style import PALETTE, caption, setup


def main(stats: list, outputs: list, models: list, method: str, seed: int, scale: str, png: str, pdf: str, csv: str,
         markdown: str, claims: str) -> None:
    keys = [(m["name"], layer, x) for m in models for layer in range(m["layers"]) for x in m["matrices"]]
    frames = dict(zip(keys, (pd.read_csv(f) for f in stats)))
    every = pd.concat(frames.values(), ignore_index=True)
    width = max(m["layers"] for m in models)
    setup()
    fig = plt.figure(figsize=(max(2.1 * width, 8), 3.4 + 3.4 * len(models)))
    grid = fig.add_gridspec(1 + 2 * len(models), width, height_ratios=[1.8] + [1] * 2 * len(models))
    every["model / layer . matrix"] = every["model"] + " L" + every["layer"].astype(str) + "." + every["matrix"]
    top_ax = fig.add_subplot(grid[0, :])
    wd_distributions(top_ax, every, by="model / layer . matrix", title="WD per neuron, every FFN linear")
    top_ax.tick_params(axis="x", labelrotation=75, labelsize="xx-small")
    top_ax.set_xlabel("")
    matrices, rows, out_iter = [], [], iter(outputs)
    for mi, m in enumerate(models):
        for layer in range(m["layers"]):
            y = load_matrix(next(out_iter))
            for matrix in m["matrices"]:
                frame = frames[(m["name"], layer, matrix)]
                wd = frame["wd"].to_numpy()
                matrices.append({"model": m["name"], "layer": layer, "matrix": matrix, "wd": wd,
                                 "tokens": int(frame["tokens"].iloc[0])})
                rows.append({"model": m["name"], "family": m["family"], "revision": frame["revision"].iloc[0],
                             "split": frame["split"].iloc[0], "layer": layer, "matrix": matrix, "neurons": len(wd),
                             "tokens": int(frame["tokens"].iloc[0]), "seed": int(frame["seed"].iloc[0]),
                             "wd_mean": np.nanmean(wd), "wd_median": np.nanmedian(wd), "wd_max": np.nanmax(wd),
                             "max_over_median": np.nanmax(wd) / np.nanmedian(wd), "dead": int(np.isnan(wd).sum())})
            wd = frames[(m["name"], layer, "up")]["wd"].to_numpy()
            top, typical = int(top_k(wd, 1)[0]), int(median_neurons(wd, 1)[0])
            for r, (neuron, color, label) in enumerate(((top, PALETTE["wasserstein"], "top"),
                                                        (typical, PALETTE["random"], "median"))):
                ax = fig.add_subplot(grid[1 + 2 * mi + r, layer])
                ax.hist(y[:, neuron], bins=50, color=color, alpha=0.85)
                ax.axvline(0, color="black", lw=0.6, ls=":")
                ax.set_title(f"{m['name']} L{layer} up {label} #{neuron}, WD {wd[neuron]:.2f}", fontsize="x-small")
                ax.tick_params(labelsize="xx-small")
    values, per_matrix = every_matrix_excess(matrices, method=method, seed=seed)
    table = pd.DataFrame(rows).merge(pd.DataFrame(per_matrix)[[
        "model", "layer", "matrix", "top_neurons", "top_over_median", "gaussian_top_over_median", "top_gap",
        "gaussian_top_gap", "gap_excess_over_gaussian", "gaussian_median_wd", "gaussian_neurons"]],
        on=["model", "layer", "matrix"])
    caption(fig, "WD-FA1", f"Wasserstein neurons in every FFN linear ({scale} scale)\nmean WD of the top "
                           f"{values['top_percent']:g}% (at least {values['top_min_neurons']}) / median WD per matrix "
                           f"{table['top_over_median'].min():.2f}-{table['top_over_median'].max():.2f}; top-set gap "
                           f"over the median {table['top_gap'].min():.3f}-{table['top_gap'].max():.3f} WD (Gaussian "
                           f"samples {table['gaussian_top_gap'].min():.3f}-{table['gaussian_top_gap'].max():.3f});"
                           "\nrows: top-WD (red) and median-WD (grey) up-projection neuron of each layer")
    fig.tight_layout()
    save_figure(fig, png, pdf)
    write_table(table, csv, markdown)
    write_claim_values(claims, "WD-FA1", scale, {1: {
        **values, "min_max_over_median": table["max_over_median"].min(),
        "median_max_over_median": table["max_over_median"].median()}},
        context={"models": ",".join(m["name"] for m in models),
                 "matrices": "every FFN linear (" + "; ".join(f"{m['name']}: {', '.join(m['matrices'])}" for m in models)
                             + ")", "statistic": "mean WD of the top 5% of neurons (at least 5) / median WD, per matrix",
                 "baseline": "the top set's mean WD minus the median WD, against the same gap for Gaussian samples "
                             "of the same tokens x neurons (at most 1024 neurons), in WD units"})


if __name__ == "__main__":
    run(main)
