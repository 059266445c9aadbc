"""WD-FA1: Wasserstein neurons in every FFN layer: WD distributions per layer, top-WD vs median neuron."""

import numpy as np
import pandas as pd
from _runner import run
from matplotlib import pyplot as plt

from entangle.claims import write_claim_values
from entangle.io import load_matrix, save_figure, write_table
from entangle.neurons.selection import median_neurons, top_k
from entangle.plotting.neurons import wd_distributions
from entangle.plotting.style import PALETTE, caption, setup


def main(stats: list, outputs: list, models: list, scale: str, png: str, pdf: str, csv: str, markdown: str,
         claims: str) -> None:
    frames = [pd.read_csv(f) for f in stats]
    every = pd.concat(frames, ignore_index=True)
    width = max(m["layers"] for m in models)
    setup()
    fig = plt.figure(figsize=(max(2.1 * width, 8), 3.2 + 3.4 * len(models)))
    grid = fig.add_gridspec(1 + 2 * len(models), width, height_ratios=[1.6] + [1] * 2 * len(models))
    every["model / layer"] = every["model"] + " L" + every["layer"].astype(str)
    top_ax = fig.add_subplot(grid[0, :])
    wd_distributions(top_ax, every, by="model / layer", title="WD per neuron, every FFN up-projection")
    top_ax.tick_params(axis="x", labelrotation=60, labelsize="x-small")
    top_ax.set_xlabel("")
    rows, frame_iter = [], iter(zip(frames, outputs))
    for mi, m in enumerate(models):
        for layer in range(m["layers"]):
            frame, out = next(frame_iter)
            y, wd = load_matrix(out), frame["wd"].to_numpy()
            top, typical = int(top_k(wd, 1)[0]), int(median_neurons(wd, 1)[0])
            rows.append({"model": m["name"], "family": m["family"], "revision": frame["revision"].iloc[0],
                         "split": frame["split"].iloc[0], "layer": layer, "matrix": frame["matrix"].iloc[0],
                         "neurons": len(wd), "tokens": int(frame["tokens"].iloc[0]), "seed": int(frame["seed"].iloc[0]),
                         "wd_mean": np.nanmean(wd), "wd_median": np.nanmedian(wd), "wd_max": np.nanmax(wd),
                         "max_over_median": np.nanmax(wd) / np.nanmedian(wd), "top_neuron": top,
                         "median_neuron": typical, "dead": int(np.isnan(wd).sum())})
            for r, (neuron, color, label) in enumerate(((top, PALETTE["wasserstein"], "top"),
                                                        (typical, PALETTE["random"], "median"))):
                ax = fig.add_subplot(grid[1 + 2 * mi + r, layer])
                ax.hist(y[:, neuron], bins=50, color=color, alpha=0.85)
                ax.axvline(0, color="black", lw=0.6, ls=":")
                ax.set_title(f"{m['name']} L{layer} {label} #{neuron}, WD {wd[neuron]:.2f}", fontsize="x-small")
                ax.tick_params(labelsize="xx-small")
    caption(fig, "WD-FA1", f"Wasserstein neurons in every FFN layer ({scale} scale); "
                           "per model: top-WD (red) and median-WD (grey) neuron of each layer")
    fig.tight_layout()
    save_figure(fig, png, pdf)
    table = pd.DataFrame(rows)
    write_table(table, csv, markdown)
    write_claim_values(claims, "WD-FA1", scale, {1: {
        "layers": len(table), "min_max_over_median": table["max_over_median"].min(),
        "median_max_over_median": table["max_over_median"].median(),
        "layers_max_over_median_above_2": int((table["max_over_median"] > 2).sum())}},
        context={"models": ",".join(m["name"] for m in models)})


if __name__ == "__main__":
    run(main)
