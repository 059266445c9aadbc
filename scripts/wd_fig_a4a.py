"""WD-FA4 panel a: do Wasserstein neurons overlap with the largest-weight neurons? Every layer of the GELU model.

With a gated-FFN model (role `gated`), the same over every layer of its gate projection: a second figure row,
table rows (column `model`, `matrix`) and claim 4 under `by_model`.
"""

import numpy as np
import pandas as pd
from _runner import run
from scipy.stats import spearmanr

from entangle.claims import write_claim_values
from entangle.io import save_figure, write_table
from entangle.neurons.population import overlap
from entangle.neurons.selection import jaccard, top_percent
from entangle.plotting.style import PALETTE, caption, figure


def _table(frames: list, percent: float) -> pd.DataFrame:
    rows = []
    for frame in frames:
        wd, mag = frame["wd"].to_numpy(), frame["mean_abs_weight"].to_numpy()
        top_wd, top_mag = top_percent(wd, percent), top_percent(mag, percent)
        rest = np.setdiff1d(np.arange(len(wd)), top_wd)
        ok = np.isfinite(wd)
        rows.append({"model": frame["model"].iloc[0], "revision": frame["revision"].iloc[0],
                     "matrix": frame["matrix"].iloc[0],
                     "split": frame["split"].iloc[0], "layer": int(frame["layer"].iloc[0]), "neurons": len(wd),
                     "tokens": int(frame["tokens"].iloc[0]), "seed": int(frame["seed"].iloc[0]), "percent": percent,
                     "top_set_size": len(top_wd), "jaccard": jaccard(top_wd, top_mag),
                     "jaccard_random_expected": len(top_wd) / (2 * len(wd) - len(top_wd)),
                     "spearman_wd_mean_abs_weight": spearmanr(wd[ok], mag[ok])[0],
                     "mean_abs_weight_wn": mag[top_wd].mean(), "mean_abs_weight_rest": mag[rest].mean()})
    return pd.DataFrame(rows)


def _plot(axes, frames: list, table: pd.DataFrame, layer: int, percent: float, name: str, letters: str) -> None:
    frame = frames[min(layer, len(frames) - 1)]
    wd, mag = frame["wd"].to_numpy(), frame["mean_abs_weight"].to_numpy()
    top_wd = top_percent(wd, percent)
    axes[0].scatter(mag, wd, s=5, color=PALETTE["other"], alpha=0.5, lw=0)
    axes[0].scatter(mag[top_wd], wd[top_wd], s=10, color=PALETTE["wasserstein"], label=f"top {percent:g}% WD")
    axes[0].set(xlabel="mean |w| of the neuron's row", ylabel="WD to N(0,1)",
                title=f"({letters[0]}) {name} {frame['matrix'].iloc[0]}, layer {layer}")
    axes[0].legend()
    ax = axes[1]
    ax.bar(table["layer"], table["jaccard"], color=PALETTE["wasserstein"], label="Jaccard(top WD, top |w|)")
    ax.plot(table["layer"], table["jaccard_random_expected"], "k--", label="expected at random")
    ax.set(xlabel="layer", ylabel=f"Jaccard overlap of top {percent:g}% sets",
           title=f"({letters[1]}) {name}: overlap per layer")
    ax.legend(fontsize="x-small")


def _claim(frames: list, table: pd.DataFrame, layer: int, percent: float) -> dict:
    at = table[table["layer"] == layer].iloc[0] if (table["layer"] == layer).any() else table.iloc[0]
    detail = frames[min(layer, len(frames) - 1)]
    return {4: {
        **overlap(detail["wd"].to_numpy(), detail["mean_abs_weight"].to_numpy(), percent),  # neurons redrawn
        "jaccard_random_expected": at["jaccard_random_expected"],
        "jaccard_median_over_layers": table["jaccard"].median(),
        "spearman_wd_mean_abs_weight": at["spearman_wd_mean_abs_weight"]}}


def main(stats: list, record: dict, layer: int, percent: float, scale: str, png: str, pdf: str, csv: str,
         markdown: str, claims: str, gated_stats: list | None = None, gated_record: dict | None = None) -> None:
    frames = [pd.read_csv(f) for f in stats]
    table = _table(frames, percent)
    gated = gated_record is not None
    if gated:
        gframes = [pd.read_csv(f) for f in gated_stats]
        gtable = _table(gframes, percent)
    write_table(pd.concat([table] + ([gtable] if gated else []), ignore_index=True), csv, markdown)

    fig, axes = figure(2 if gated else 1, 2, width=3.8, height=3.0)
    _plot(axes[0], frames, table, layer, percent, record["name"], "ab")
    if gated:
        _plot(axes[1], gframes, gtable, layer, percent, gated_record["name"], "cd")
    models = record["name"] + (f" (up) and {gated_record['name']} (gate)" if gated else "")
    caption(fig, "WD-FA4a", f"Wasserstein neurons vs weight magnitude, {models} ({scale} scale)")
    fig.tight_layout()
    save_figure(fig, png, pdf)
    write_claim_values(claims, "WD-FA4", scale, _claim(frames, table, layer, percent),
                       context={**record, "layer": layer, "percent": percent,
                                **({"gated_model": gated_record["name"], "gated_matrix": "gate"} if gated else {})},
                       by_model={gated_record["name"]: _claim(gframes, gtable, layer, percent)} if gated else None)


if __name__ == "__main__":
    run(main)
