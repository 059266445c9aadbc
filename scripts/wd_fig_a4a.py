"""WD-FA4 panel a: do Wasserstein neurons overlap with the largest-weight neurons? Every layer of the GELU model."""

import numpy as np
import pandas as pd
from _runner import run
from scipy.stats import spearmanr

from entangle.claims import write_claim_values
from entangle.io import save_figure, write_table
from entangle.neurons.population import overlap
from entangle.neurons.selection import jaccard, top_percent
from entangle.plotting.style import PALETTE, caption, figure


def main(stats: list, record: dict, layer: int, percent: float, scale: str, png: str, pdf: str, csv: str,
         markdown: str, claims: str) -> None:
    rows, frames = [], [pd.read_csv(f) for f in stats]
    for frame in frames:
        wd, mag = frame["wd"].to_numpy(), frame["mean_abs_weight"].to_numpy()
        top_wd, top_mag = top_percent(wd, percent), top_percent(mag, percent)
        rest = np.setdiff1d(np.arange(len(wd)), top_wd)
        ok = np.isfinite(wd)
        rows.append({"model": frame["model"].iloc[0], "revision": frame["revision"].iloc[0],
                     "split": frame["split"].iloc[0], "layer": int(frame["layer"].iloc[0]), "neurons": len(wd),
                     "tokens": int(frame["tokens"].iloc[0]), "seed": int(frame["seed"].iloc[0]), "percent": percent,
                     "top_set_size": len(top_wd), "jaccard": jaccard(top_wd, top_mag),
                     "jaccard_random_expected": len(top_wd) / (2 * len(wd) - len(top_wd)),
                     "spearman_wd_mean_abs_weight": spearmanr(wd[ok], mag[ok])[0],
                     "mean_abs_weight_wn": mag[top_wd].mean(), "mean_abs_weight_rest": mag[rest].mean()})
    table = pd.DataFrame(rows)
    write_table(table, csv, markdown)

    fig, axes = figure(1, 2, width=3.8, height=3.0)
    frame = frames[min(layer, len(frames) - 1)]
    wd, mag = frame["wd"].to_numpy(), frame["mean_abs_weight"].to_numpy()
    top_wd = top_percent(wd, percent)
    axes[0, 0].scatter(mag, wd, s=5, color=PALETTE["other"], alpha=0.5, lw=0)
    axes[0, 0].scatter(mag[top_wd], wd[top_wd], s=10, color=PALETTE["wasserstein"], label=f"top {percent:g}% WD")
    axes[0, 0].set(xlabel="mean |w| of the neuron's row", ylabel="WD to N(0,1)", title=f"layer {layer}")
    axes[0, 0].legend()
    ax = axes[0, 1]
    ax.bar(table["layer"], table["jaccard"], color=PALETTE["wasserstein"], label="Jaccard(top WD, top |w|)")
    ax.plot(table["layer"], table["jaccard_random_expected"], "k--", label="expected at random")
    ax.set(xlabel="layer", ylabel=f"Jaccard overlap of top {percent:g}% sets", title="overlap per layer")
    ax.legend(fontsize="x-small")
    caption(fig, "WD-FA4a", f"Wasserstein neurons vs weight magnitude, {record['name']} ({scale} scale)")
    fig.tight_layout()
    save_figure(fig, png, pdf)
    at = table[table["layer"] == layer].iloc[0] if (table["layer"] == layer).any() else table.iloc[0]
    detail = frames[min(layer, len(frames) - 1)]
    write_claim_values(claims, "WD-FA4", scale, {4: {
        **overlap(detail["wd"].to_numpy(), detail["mean_abs_weight"].to_numpy(), percent),  # neurons redrawn
        "jaccard_random_expected": at["jaccard_random_expected"],
        "jaccard_median_over_layers": table["jaccard"].median(),
        "spearman_wd_mean_abs_weight": at["spearman_wd_mean_abs_weight"]}},
        context={**record, "layer": layer, "percent": percent})


if __name__ == "__main__":
    run(main)
