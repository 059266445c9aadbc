"""NC-F6: IO relationships of the layer's other entangled neurons, their top OI pairs highlighted."""

import numpy as np
import pandas as pd
from _runner import run

from entangle.claims import write_claim_values
from entangle.io import save_figure, write_table
from entangle.metrics.mapping import pair_input_distances
from entangle.neurons.dynamics import mean_sem
from entangle.neurons.io_relationship import hard_pair_share
from entangle.plotting.neurons import io_scatter as io_panel
from entangle.plotting.style import caption, figure
from entangle.zscores import input_distance_z, item_neurons, load_layer_item, md_rank, neuron_top_pairs


def main(top: str, md: str, pairs_path: str, inputs: str, outputs: str, layer: int, select: dict, record: dict,
         scale: str, png: str, pdf: str, csv: str, markdown: str, claims: str) -> None:
    d = load_layer_item(top, md, pairs_path, inputs, outputs)
    f3, _, neurons = item_neurons(d.md, select["neuron"], select["table_neurons"], select["scatter_neurons"], layer=layer)
    m = select["top_pairs"]
    ranks = md_rank(d.md, neurons)
    oi, best, dx, dy = neuron_top_pairs(d.inputs, d.outputs, d.i, d.j, neurons, m)
    dist = pair_input_distances(d.inputs, d.i, d.j)
    z = np.stack([input_distance_z(dist, best[c]) for c in range(len(neurons))])  # [k, m]
    z_mean, z_sem = mean_sem(z, axis=-1)
    median_dx = np.nanmedian(dx)
    table = pd.DataFrame({
        "model": record["name"], "model_id": record["model_id"], "revision": record["revision"],
        "dataset": record["dataset"], "split": record["split"], "matrix": record["matrix"], "layer": layer,
        "neuron": neurons, "md": d.md[neurons], "md_rank": ranks, "top_pairs": m,
        "top_input_distance_mean": dx[best].mean(1), "all_input_distance_median": median_dx,
        "top_input_distance_z_mean": z_mean, "top_input_distance_z_sem": z_sem,
        "top_output_distance_mean": np.take_along_axis(dy, best.T, axis=0).mean(0),
        "top_below_median_input_share": (dx[best] < median_dx).mean(1),
        "hard_pair_share_all": [hard_pair_share(dx, dy[:, c]) for c in range(len(neurons))],
        "tokens": len(d.inputs), "pairs": len(d.i), "seed": record["seed"]})
    write_table(table, csv, markdown)

    ncols = min(4, max(1, len(neurons)))
    nrows = int(np.ceil(len(neurons) / ncols))
    fig, axes = figure(nrows, ncols, width=3.0, height=2.7)
    for c, ax in enumerate(axes.flat):
        if c >= len(neurons):
            ax.set_axis_off()
            continue
        io_panel(ax, dx, dy[:, c], f"neuron {neurons[c]} (MD rank {ranks[c]})", highlight=best[c])
        ax.legend(loc="lower left", frameon=True).set_visible(c == 0)  # top pairs sit high: legend below
        ax.tick_params(labelsize="x-small")
        if c % ncols:
            ax.set_ylabel("")
        if c < len(neurons) - ncols:
            ax.set_xlabel("")
    caption(fig, "NC-F6", f"IO relationships of entangled neurons, {record['name']} layer {layer}, "
                          f"top-{m} OI pairs highlighted ({scale} scale)")
    fig.tight_layout()
    save_figure(fig, png, pdf)

    write_claim_values(claims, "NC-F6", scale, {
        26: {"neurons": len(neurons), "neurons_top_input_z_below_zero": int(np.sum(z_mean < 0)),
             "mean_top_input_distance_z": float(np.mean(z_mean)),
             "mean_top_below_median_input_share": float(table["top_below_median_input_share"].mean()),
             "mean_top_output_distance": float(table["top_output_distance_mean"].mean())},
    }, context={"name": record["name"], "model_id": record["model_id"], "revision": record["revision"],
                "dataset": record["dataset"], "split": record["split"], "seed": record["seed"], "layer": layer,
                "matrix": record["matrix"], "neurons": neurons, "md_ranks": ranks, "nc_f3_neuron": f3,
                "tokens": len(d.inputs), "pairs": len(d.i)})


if __name__ == "__main__":
    run(main)
