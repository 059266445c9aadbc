"""WD-FA4 panel b: does unstructured SparseGPT zero more of the Wasserstein neurons' weights than of other rows?

Detail layer of the GELU model: per-row sparsity (share of zeroed weights of each neuron's row) under
SparseGPT at each sweep sparsity, for the Wasserstein neurons (top-p% WD) against the layer and the rest.
With a gated-FFN model (role `gated`), the same for its detail layer (the same matrix) in a second figure row,
table rows (column `model`) and claim 5 under `by_model`.
"""

import numpy as np
import pandas as pd
from _runner import run
from matplotlib.ticker import FuncFormatter

from entangle.claims import write_claim_values
from entangle.disentangle.intervals import row_sparsity_ratio
from entangle.disentangle.predictors import row_sparsity_by_group, row_sparsity_columns
from entangle.disentangle.records import context
from entangle.io import save_figure, write_table
from entangle.plotting.style import PALETTE, caption, figure


def _analyse(neurons: str, headline: float) -> dict:
    """Row sparsity per group over the sweep, the headline sparsity's row, and claim 5's values."""
    table = pd.read_csv(neurons)
    groups = row_sparsity_by_group(table, "is_wn")
    columns = row_sparsity_columns(table)
    at = groups[np.isclose(groups["sparsity"], headline)]
    if at.empty:
        raise ValueError(f"disentangle.row_sparsity = {headline} is not a swept sparsity > 0 ({list(columns)})")
    at = at.iloc[0]
    values = {
        "row_sparsity_wn_over_layer": row_sparsity_ratio(table, columns[float(at["sparsity"])]),  # rows redrawn
        "row_sparsity_wn_over_rest": at["wn_over_rest"],
        "row_sparsity_wn": at["row_sparsity_wn"], "row_sparsity_layer": at["row_sparsity_layer"],
        "mannwhitney_p": at["mannwhitney_p"], "share_wn_above_layer_mean": at["share_wn_above_layer_mean"],
        "share_sweep_wn_over_layer_gt1": float((groups["wn_over_layer"] > 1).mean()),
        "median_wn_over_layer_over_sweep": float(groups["wn_over_layer"].median())}
    return {"table": table, "groups": groups, "columns": columns, "at": at, "record": context(table),
            "values": values}


def _panels(axes, a: dict, wn_percent: float, letters: tuple[str, str]) -> None:
    """Row sparsity relative to the layer over the sweep, and the headline's per-row histogram."""
    table, groups, at, record = a["table"], a["groups"], a["at"], a["record"]
    wn = table["is_wn"].astype(str).str.lower().eq("true").to_numpy()
    name = f"{record['model']} L{record['layer']}"
    ax = axes[0]
    s = groups["sparsity"].to_numpy()
    ax.axhline(1, color="k", ls="--", lw=1.0, label=f"layer mean ({int(at['rows'])} rows)")
    ax.plot(s, groups["wn_over_layer"], "o-", color=PALETTE["wasserstein"],
            label=f"Wasserstein neurons (top {wn_percent:g}% WD, {int(at['wn_rows'])} rows)")
    ax.plot(s, groups["row_sparsity_rest"] / groups["row_sparsity_layer"], "s:", ms=4, color=PALETTE["other"],
            label="other rows")
    ax.axvline(at["sparsity"], color="0.6", lw=0.8, zorder=0)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0%}"))
    ax.set(xlabel="SparseGPT sparsity of the layer", ylabel="mean row sparsity / layer mean",
           title=f"({letters[0]}) {name}:\nrow sparsity relative to the layer")
    ax.legend(fontsize="x-small", framealpha=0.9, loc="best")
    ax = axes[1]
    v = table[a["columns"][float(at["sparsity"])]].to_numpy(dtype=np.float64)
    u = np.unique(v)
    if 1 < u.size <= 60:  # few distinct values (short rows): one bin per value
        width = np.diff(u).min()
        bins = np.arange(u.min() - width / 2, u.max() + width, width)
    else:
        bins = 30
    ax.hist([v[~wn], v[wn]], bins=bins, stacked=True, color=[PALETTE["other"], PALETTE["wasserstein"]], alpha=0.8,
            label=["other rows", "Wasserstein neurons"])
    ax.axvline(at["row_sparsity_layer"], color="k", ls="--", lw=1.2, label=f"layer mean {at['row_sparsity_layer']:.3f}")
    ax.axvline(at["row_sparsity_wn"], color=PALETTE["wasserstein"], lw=1.5,
               label=f"WN mean {at['row_sparsity_wn']:.3f}")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:.0%}"))
    ax.set(xlabel="share of the row's weights zeroed", ylabel="rows (stacked)",
           title=f"({letters[1]}) {name}: per-row sparsity at {at['sparsity']:.0%}:\nWN / layer = {at['wn_over_layer']:.3f}")
    ax.set_ylim(0, ax.get_ylim()[1] * 1.35)  # headroom for the legend
    ax.legend(fontsize="x-small", framealpha=0.9, loc="upper left", ncol=2)


def main(neurons: str, headline: float, wn_percent: float, scale: str, png: str, pdf: str, csv: str, markdown: str,
         claims: str, gated_neurons: str | None = None) -> None:
    a = _analyse(neurons, headline)
    g = _analyse(gated_neurons, headline) if gated_neurons else None
    record = a["record"]

    fig, axes = figure(2 if g else 1, 2, width=4.2, height=3.4)
    _panels(axes[0], a, wn_percent, ("b1", "b2"))
    if g:
        _panels(axes[1], g, wn_percent, ("b3", "b4"))
    models = f"{record['model']} layer {record['layer']} {record['matrix']}-projection"
    if g:
        gr = g["record"]
        models = (f"{models} (b1, b2) and {gr['model']} layer {gr['layer']} {gr['matrix']}-projection "
                  "(b3, b4)")
    caption(fig, "WD-FA4b", f"how much SparseGPT prunes the Wasserstein neurons, {models} ({scale} scale)")
    fig.tight_layout()
    save_figure(fig, png, pdf)

    out = pd.concat([pd.concat([pd.DataFrame([x["record"]] * len(x["groups"])),
                                x["groups"].assign(wn_percent=wn_percent)], axis=1) for x in (a, g) if x],
                    ignore_index=True)
    write_table(out, csv, markdown)
    ctx = {**record, "headline_sparsity": headline, "wn_percent": wn_percent,
           "sweep": [float(x) for x in a["groups"]["sparsity"]]}
    if g:
        ctx.update(gated_model=g["record"]["model"], gated_layer=g["record"]["layer"],
                   gated_matrix=g["record"]["matrix"])
    write_claim_values(claims, "WD-FA4", scale, {5: a["values"]}, context=ctx,
                       by_model={g["record"]["model"]: {5: g["values"]}} if g else None)


if __name__ == "__main__":
    run(main)
