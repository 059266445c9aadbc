"""NC-F6: IO relationships of the layer's other entangled neurons, their top OI pairs highlighted. With a gated-FFN
model (role `gated`), its gate projection's entangled neurons in further rows, table rows and claims `by_model`."""

import numpy as np
import pandas as pd
from _runner import run

from entangle.claims import write_claim_values
from entangle.io import save_figure, write_table
from entangle.metrics.mapping import pair_input_distances
from entangle.neurons.dynamics import mean_sem
from entangle.neurons.io_relationship import hard_pair_share
from entangle.pairs.neuron_pairs import item_neurons, load_layer_item, md_rank, neuron_top_pairs
from entangle.pairs.zscores import input_distance_z
from entangle.plotting.neurons import io_scatter
from entangle.plotting.style import caption, figure


def _analyse(top: str, md: str, pairs_path: str, inputs: str, outputs: str, layer: int, select: dict,
             record: dict) -> dict:
    """One model's entangled neurons of the layer: IO data, table rows, claim values and context."""
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
    values = {
        26: {"neurons": len(neurons), "neurons_top_input_z_below_zero": int(np.sum(z_mean < 0)),
             "mean_top_input_distance_z": float(np.mean(z_mean)),
             "mean_top_below_median_input_share": float(table["top_below_median_input_share"].mean()),
             "mean_top_output_distance": float(table["top_output_distance_mean"].mean())},
    }
    context = {"name": record["name"], "model_id": record["model_id"], "revision": record["revision"],
               "dataset": record["dataset"], "split": record["split"], "seed": record["seed"], "layer": layer,
               "matrix": record["matrix"], "neurons": neurons, "md_ranks": ranks, "nc_f3_neuron": f3,
               "tokens": len(d.inputs), "pairs": len(d.i)}
    return {"table": table, "values": values, "context": context, "neurons": neurons, "ranks": ranks, "dx": dx,
            "dy": dy, "best": best, "name": record["name"], "matrix": record["matrix"]}


def _plot(axes, a: dict, ncols: int) -> None:
    neurons, ranks = a["neurons"], a["ranks"]
    for c, ax in enumerate(axes.flat):
        if c >= len(neurons):
            ax.set_axis_off()
            continue
        io_scatter(ax, a["dx"], a["dy"][:, c], f"{a['name']} {a['matrix']}: neuron {neurons[c]} (MD rank {ranks[c]})",
                 highlight=a["best"][c])
        ax.legend(loc="lower left", frameon=True).set_visible(c == 0)  # top pairs sit high: legend below
        ax.tick_params(labelsize="x-small")
        if c % ncols:
            ax.set_ylabel("")
        if c < len(neurons) - ncols:
            ax.set_xlabel("")


def main(top: str, md: str, pairs_path: str, inputs: str, outputs: str, layer: int, select: dict, record: dict,
         scale: str, png: str, pdf: str, csv: str, markdown: str, claims: str, gated_top: str | None = None,
         gated_md: str | None = None, gated_pairs_path: str | None = None, gated_inputs: str | None = None,
         gated_outputs: str | None = None, gated_select: dict | None = None, gated_record: dict | None = None) -> None:
    a = _analyse(top, md, pairs_path, inputs, outputs, layer, select, record)
    g = _analyse(gated_top, gated_md, gated_pairs_path, gated_inputs, gated_outputs, layer, gated_select,
                 gated_record) if gated_record else None
    write_table(pd.concat([a["table"]] + ([g["table"]] if g else []), ignore_index=True), csv, markdown)

    ncols = min(4, max(1, len(a["neurons"]), len(g["neurons"]) if g else 1))
    rows_a = int(np.ceil(len(a["neurons"]) / ncols))
    rows_g = int(np.ceil(len(g["neurons"]) / ncols)) if g else 0
    fig, axes = figure(rows_a + rows_g, ncols, width=3.0, height=2.7)
    _plot(axes[:rows_a], a, ncols)
    if g:
        _plot(axes[rows_a:], g, ncols)
    models = f"{record['name']} layer {layer}" + (
        f" ({record['matrix']}-projection, first rows) and {gated_record['name']} (gate projection, last rows)"
        if g else "")
    caption(fig, "NC-F6", f"IO relationships of entangled neurons, {models}, "
                          f"top-{select['top_pairs']} OI pairs highlighted ({scale} scale)")
    fig.tight_layout()
    save_figure(fig, png, pdf)
    write_claim_values(claims, "NC-F6", scale, a["values"],
                       context={**a["context"], **({"gated_model": g["name"], "gated_matrix": g["matrix"],
                                                    "gated_neurons": g["context"]["neurons"]} if g else {})},
                       by_model={g["name"]: g["values"]} if g else None)


if __name__ == "__main__":
    run(main)
